"""A small national directory for the directory's tests: synthetic rows plus a few people we know by name.

Used by the unit, integration and e2e tests: ``seed(url)`` migrates a database and imports it through
the real importer, as an operator would.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from services.directory.adapters.annuaire_layout import PS_ACTIVITY_COLUMNS
from services.directory.adapters.tables import BUS_TABLES
from services.directory.domain.mailboxes import MailboxPolicy, personal_local_part
from services.directory.importer import import_extract
from services.directory.synth import write_extract
from services.shared.auth import Principal
from services.shared.db import UnitOfWork, make_engine
from services.shared.db.migrations import upgrade
from services.shared.settings import Settings

REPO = Path(__file__).resolve().parents[3]
SYNTHETIC_ROWS = 2000


@dataclass(frozen=True)
class Person:
    rpps: str
    title: str
    civility: str
    family: str
    given: str
    profession: str
    specialty: str = ""


JEANNE = Person("10001045367", "DR", "MME", "MARTIN", "Jeanne", "10", "SM53")
HELENE = Person("10000023084", "", "MME", "LEFÈVRE-D'ÉTÉ", "Hélène", "60")
PAUL = Person("10001000016", "DR", "M", "DURAND", "Paul", "10", "SM04")
LUC = Person("10001000024", "", "M", "ZYLBERSTEIN", "Luc", "21")
NOBODY_RPPS = "10001000032"  # well formed, in no extract
ADELI_IDNPS = "0756000014"
JEANNE_BOX, PAUL_BOX, CAB_BOX = "jeanne.martin@medecin.mssante.fr", "paul.durand@medecin.mssante.fr", \
    "cabinet.voltaire@cabinet.mssante.fr"
HOSPITAL_FINESS, PHARMACY_FINESS, CPTS_FINESS = "750000010", "750000028", "750000036"
SITES = {  # structure id -> (SIRET, FINESS, legal FINESS, name, street, postal code, INSEE, city, sector)
    "C79427768100019": ("79427768100019", "", "", "CABINET VOLTAIRE", "12 Boulevard VOLTAIRE", "75011", "75111",
                        "Paris 11e Arrondissement", "SA07"),
    f"F{HOSPITAL_FINESS}": ("", HOSPITAL_FINESS, HOSPITAL_FINESS, "HÔPITAL SAINT-ÉLOI", "1 Rue DE LA PAIX",
                            "34000", "34172", "Montpellier", "SA01"),
    f"F{PHARMACY_FINESS}": ("", PHARMACY_FINESS, HOSPITAL_FINESS, "PHARMACIE DE L'ÉGLISE", "3 Place DE L'EGLISE",
                            "34000", "34172", "Montpellier", ""),
}
# (person, structure id, mode)
ACTIVITIES = [(JEANNE, "C79427768100019", "L"), (JEANNE, f"F{HOSPITAL_FINESS}", "S"),
              (HELENE, "C79427768100019", "L"), (PAUL, "C79427768100019", "L"), (LUC, f"F{PHARMACY_FINESS}", "L")]
MAILBOXES = [("PER", JEANNE_BOX, JEANNE), ("PER", PAUL_BOX, PAUL), ("CAB", CAB_BOX, JEANNE), ("CAB", CAB_BOX, PAUL)]
MSSANTE_HEADER = ("Type de BAL", "Adresse BAL", "Type identifiant PP", "Identifiant PP", "Identification nationale PP",
                   "Type identifiant structure", "Identification structure", "Service de rattachement",
                   "Raison sociale structure BAL", "Code postal structure BAL", "Dématérialisation")


def activity_line(person: Person, structure: str, mode: str) -> str:
    siret, finess, legal, name, street, postal, insee, city, sector = SITES[structure]
    number, _, rest = street.partition(" ")
    kind, _, way = rest.partition(" ")
    values = {
        "Type d'identifiant PP": "8", "Identifiant PP": person.rpps, "Identification nationale PP": "8" + person.rpps,
        "Code civilité d'exercice": person.title, "Code civilité": person.civility, "Nom d'exercice": person.family,
        "Prénom d'exercice": person.given, "Code profession": person.profession,
        "Code type savoir-faire": "S" if person.specialty else "", "Code savoir-faire": person.specialty,
        "Code mode exercice": mode, "Numéro SIRET site": siret, "Numéro SIREN site": siret[:9],
        "Numéro FINESS site": finess, "Numéro FINESS établissement juridique": legal,
        "Identifiant technique de la structure": structure, "Raison sociale site": name,
        "Numéro Voie (coord. structure)": number, "Libellé type de voie (coord. structure)": kind,
        "Libellé Voie (coord. structure)": way, "Code postal (coord. structure)": postal,
        "Code commune (coord. structure)": insee, "Libellé commune (coord. structure)": city,
        "Code pays (coord. structure)": "99000", "Téléphone (coord. structure)": "0143000000",
        "Code secteur d'activité": sector,
    }
    return "|".join(values.get(column, "") for column in PS_ACTIVITY_COLUMNS) + "|\n"


def write_known(path: Path) -> None:
    """Append the known people to an extract (their lines together, as the real extract has them)."""
    with open(path, "a", encoding="utf-8") as out:
        out.writelines(activity_line(*activity) for activity in ACTIVITIES)


def write_mailboxes(path: Path, leave_out: tuple[str, ...] = ()) -> None:
    """The MSSanté extract of the known mailboxes, less the addresses in ``leave_out``."""
    lines = ["|".join(MSSANTE_HEADER) + "|\n"]
    for kind, address, person in MAILBOXES:
        if address in leave_out:
            continue
        structure = ("3", "79427768100019") if kind == "CAB" else ("", "")
        lines.append("|".join((kind, address, "8", person.rpps, "8" + person.rpps, *structure, "", "", "75011",
                               "")) + "|\n")
    path.write_text("".join(lines), encoding="utf-8")


def seed(url: str, folder: Path, rows: int = SYNTHETIC_ROWS) -> None:
    """Migrate the database at ``url`` and import a synthetic extract, the known people and their mailboxes."""
    upgrade("directory", url)
    write_extract(folder / "activite.txt", rows, seed=7)
    write_known(folder / "activite.txt")
    write_mailboxes(folder / "mssante.txt")
    engine = make_engine(url)
    try:
        for name in ("activite.txt", "mssante.txt"):
            import_extract(folder / name, uow=lambda: unit_of_work(engine))
    finally:
        engine.dispose()


def unit_of_work(engine: Any) -> UnitOfWork:
    return UnitOfWork(engine, service="directory", outbox=BUS_TABLES[0], processed=BUS_TABLES[1])


def professional(person: Person) -> Principal:
    return Principal(subject=f"8{person.rpps}", rpps=person.rpps)


ADMIN = Principal(subject="admin", roles=frozenset({"admin"}))
MAILBOX_POLICY = MailboxPolicy.of(Settings().messaging_domains, Settings().platform_address)  # the defaults
STRANGER = Principal(subject="service:coordination", service="coordination")


def fixed_clock(moment: datetime | None = None) -> Any:
    now = moment or datetime.now(UTC)
    return lambda: now


def rpc_validator(method: str) -> Draft202012Validator:
    """A validator of one RPC method's result against schemas/rpc/directory.json."""
    contract = json.loads((REPO / "schemas" / "rpc" / "directory.json").read_text())
    registry = Registry().with_resource(contract["$id"], Resource.from_contents(contract))
    schema = {"$ref": f"{contract['$id']}#/methods/{method}/result"}
    return Draft202012Validator(schema, registry=registry)


def personal_address(person: Person, domain: str = "maillage.mssante.fr") -> str:
    """The new address the mailbox rule lets ``person`` claim under an operated domain: ``prenom.nom@domain``."""
    return f"{personal_local_part(person.given, person.family)}@{domain}"


def enrolment_form(person: Person = HELENE, **changes: Any) -> dict[str, Any]:
    form = {"civility": "Mme" if person.civility == "MME" else "M", "family": person.family.title(),
            "given": person.given, "mailbox": personal_address(person),
            "phone1": "06 12 34 56 78", "phone2": None, "rpps": person.rpps, "address": "12 boulevard Voltaire",
            "postal_code": "75011", "city": "Paris", "specialty": None}
    form.update(changes)
    return form


def refresh_places(url: str) -> None:
    """What the directory does on ``directory.imported``; unit tests run it directly."""
    from services.directory.adapters import places

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            places.refresh(connection)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("directory-template")
    url = f"sqlite:///{folder / 'directory.db'}"
    seed(url, folder)
    refresh_places(url)
    return folder / "directory.db"


@dataclass
class World:
    """A seeded SQLite directory of one's own: units of work, read transactions, a fixed clock."""

    engine: Any
    now: datetime

    def uow(self) -> UnitOfWork:
        return unit_of_work(self.engine)

    @property
    def read(self) -> Any:
        from services.directory.adapters.connections import reader

        return reader(self.engine)

    def clock(self) -> datetime:
        return self.now

    def outbox(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            bodies = connection.execute(sa.select(BUS_TABLES[0].c.body).order_by(BUS_TABLES[0].c.seq)).scalars()
            return [json.loads(body) for body in bodies]

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [event for event in self.outbox() if event["type"] == event_type]


@contextmanager
def copied_world(template: Path, copy: Path) -> Iterator[World]:
    """A world over a copy of the seeded template database (tests may change it freely)."""
    shutil.copyfile(template, copy)
    engine = make_engine(f"sqlite:///{copy}")
    try:
        yield World(engine, datetime.now(UTC))
    finally:
        engine.dispose()


@pytest.fixture
def world(seeded_template: Path, tmp_path: Path) -> Iterator[World]:
    with copied_world(seeded_template, tmp_path / "directory.db") as copied:
        yield copied


@pytest.fixture(scope="module")
def shared_world(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One copy for a module's read-only tests."""
    with copied_world(seeded_template, tmp_path_factory.mktemp("directory-read") / "directory.db") as copied:
        yield copied
