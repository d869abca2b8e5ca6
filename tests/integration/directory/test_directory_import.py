"""The directory import against each real database: idempotent re-imports, one event each, the schema as declared."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.directory import importer
from services.directory.adapters.tables import BUS_TABLES, activity, import_run, mailbox_owner, metadata, professional
from services.directory.importer import ImportReport, import_extract
from services.shared.db import UnitOfWork, make_engine
from services.shared.db.migrations import upgrade
from services.shared.errors import Unprocessable
from tests.unit.directory.annuaire_fixtures import (
    RPPS_A,
    RPPS_B,
    RPPS_C,
    activity_line,
    mailbox_header,
    mailbox_line,
    write,
)

pytestmark = pytest.mark.integration
RPPS_D = "10001000016"
HOSPITAL = {"Identifiant technique de la structure": "F340780477", "Numéro FINESS site": "340780477",
            "Code mode exercice": "S", "Code secteur d'activité": "SA01", "Raison sociale site": "CHU DE MONTPELLIER",
            "Code postal (coord. structure)": "34000", "Code commune (coord. structure)": "34172"}


@dataclass
class Directory:
    engine: sa.Engine
    clock: Callable[[], float]
    parallel: bool | None = None  # read the extract in a second process (None: as for its size)

    def load(self, path: Path, **options: Any) -> ImportReport:
        options.setdefault("parallel", self.parallel)
        return import_extract(path, uow=self.unit_of_work, clock=self.clock, **options)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.engine, service="directory", outbox=BUS_TABLES[0], processed=BUS_TABLES[1])

    def rows(self, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]

    def events(self) -> list[dict[str, Any]]:
        outbox = BUS_TABLES[0]
        bodies = self.rows(sa.select(outbox.c.body).order_by(outbox.c.seq))
        return [json.loads(body) for (body,) in bodies]


@pytest.fixture
def directory(make_database: Callable[[str], str], request: pytest.FixtureRequest) -> Iterator[Directory]:
    url = make_database("directory_import")
    upgrade("directory", url)
    engine = make_engine(url)
    ticks = count(1_000)
    yield Directory(engine, lambda: float(next(ticks)), getattr(request, "param", None))
    engine.dispose()


# Large extracts are read by a second process (adapters/pipeline.py): the same tests, both ways.
both_readers = pytest.mark.parametrize("directory", [False, True], indirect=True,
                                       ids=["reader-in-process", "reader-process"])


def activities(directory: Directory) -> dict[tuple[str, str], tuple[Any, ...]]:
    a = activity.c
    rows = directory.rows(sa.select(a.professional_idnps, a.ref, a.active, a.updated_at, a.phone))
    return {(idnps, ref): rest for idnps, ref, *rest in rows}


def counts(report: ImportReport) -> tuple[int, ...]:
    return report.created, report.updated, report.unchanged, report.deactivated, report.rejected


def test_the_migrated_schema_is_the_declared_one(directory: Directory, tmp_path: Path) -> None:
    directory.load(write(tmp_path / "v1.txt", activity_line(RPPS_A)))  # a first load rebuilds the indexes
    with directory.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


@both_readers
def test_reimports_touch_only_what_changed(directory: Directory, tmp_path: Path) -> None:
    v1 = [activity_line(RPPS_A), activity_line(RPPS_A, **HOSPITAL), activity_line(RPPS_B), activity_line(RPPS_C)]
    assert counts(directory.load(write(tmp_path / "v1.txt", *v1))) == (4, 0, 0, 0, 0)
    first = activities(directory)

    assert counts(directory.load(write(tmp_path / "again.txt", *v1))) == (0, 0, 4, 0, 0)
    assert activities(directory) == first  # unchanged rows untouched, updated_at included

    changed_phone = activity_line(RPPS_A, **{"Téléphone (coord. structure)": "0467000000"})
    v2 = [changed_phone, activity_line(RPPS_A, **HOSPITAL), activity_line(RPPS_B), activity_line(RPPS_D)]
    assert counts(directory.load(write(tmp_path / "v2.txt", *v2))) == (1, 1, 2, 1, 0)
    second = activities(directory)
    practice, hospital = sorted(key for key in second if key[0] == "8" + RPPS_A)
    assert second[practice][2] == "0467000000" and second[practice][1] > first[practice][1]
    assert second[hospital] == first[hospital]
    (c_key,) = [key for key in second if key[0] == "8" + RPPS_C]
    assert second[c_key][0] is False or second[c_key][0] == 0
    assert _active(directory, RPPS_C) is False

    assert counts(directory.load(write(tmp_path / "v1b.txt", *v1))) == (0, 2, 2, 1, 0)  # C back, A's phone back
    assert _active(directory, RPPS_C) is True and _active(directory, RPPS_D) is False


def _active(directory: Directory, rpps: str) -> bool:
    ((active,),) = directory.rows(sa.select(professional.c.active).where(professional.c.idnps == "8" + rpps))
    return bool(active)


def test_one_event_per_import_with_counts_only(directory: Directory, tmp_path: Path) -> None:
    path = write(tmp_path / "v1.txt", activity_line(RPPS_A), activity_line("10107582544"), activity_line(RPPS_B))
    report = directory.load(path)
    directory.load(path)
    events = directory.events()
    assert [event["type"] for event in events] == ["directory.imported"] * 2
    assert events[0]["data"] == {"import_id": report.import_id, "kind": "ps_activity", "rows": 3, "created": 2,
                                 "updated": 0, "unchanged": 0, "deactivated": 0, "rejected": 1}
    assert events[1]["data"]["unchanged"] == 2
    runs = directory.rows(sa.select(import_run.c.file_name, import_run.c.rejected).order_by(import_run.c.started_at))
    assert runs == [("v1.txt", 1), ("v1.txt", 1)]


@both_readers
def test_bad_lines_are_reported_and_the_rest_imported(directory: Directory, tmp_path: Path) -> None:
    seen: list[tuple[int, str]] = []
    path = write(tmp_path / "x.txt", activity_line(RPPS_A), "8|broken|\n", activity_line("10107582544"),
                 activity_line(RPPS_B))
    report = directory.load(path, on_rejection=lambda rejection: seen.append(tuple(rejection)))
    assert (report.rows, report.created, report.rejected) == (4, 2, 2)
    assert [line for line, _ in seen] == [line for line, _ in report.rejections] == [3, 4]


@both_readers
def test_a_truncated_extract_does_not_empty_the_directory(directory: Directory, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MASS_DEACTIVATION_FLOOR", 0)
    directory.load(write(tmp_path / "full.txt", *(activity_line(r) for r in (RPPS_A, RPPS_B, RPPS_C, RPPS_D))))
    truncated = write(tmp_path / "truncated.txt", activity_line(RPPS_A))
    with pytest.raises(Unprocessable, match="would deactivate 3 of 4"):
        directory.load(truncated)
    assert all(row[0] for row in activities(directory).values())  # nothing was written
    assert len(directory.events()) == 1
    assert directory.load(truncated, allow_mass_deactivation=True).deactivated == 3


@both_readers
def test_mailboxes_and_their_owners(directory: Directory, tmp_path: Path) -> None:
    cab = "cabinet.voltaire@cabinet.mssante.fr"
    v1 = [mailbox_line("PER", "Helene.Lefevre@medecin.mssante.fr", RPPS_A), mailbox_line("CAB", cab, RPPS_A),
          mailbox_line("CAB", cab, RPPS_B), mailbox_line("ORG", "urgences@chu.mssante.fr", structure="1340780477")]
    header = mailbox_header()
    report = directory.load(write(tmp_path / "m1.txt", *v1, header=header))
    assert (report.kind, report.created, report.unchanged) == ("mssante", 3, 1)  # CAB's second owner
    assert counts(directory.load(write(tmp_path / "m1b.txt", *v1, header=header))) == (0, 0, 4, 0, 0)
    report = directory.load(write(tmp_path / "m2.txt", *v1[:2], header=header))
    assert (report.deactivated, report.unchanged) == (1, 2)
    owners = directory.rows(sa.select(mailbox_owner.c.address, mailbox_owner.c.owner_idnps, mailbox_owner.c.active)
                            .order_by(mailbox_owner.c.address, mailbox_owner.c.owner_idnps))
    assert [(a, o, bool(x)) for a, o, x in owners] == [
        (cab, "8" + RPPS_B, False), (cab, "8" + RPPS_A, True),
        ("helene.lefevre@medecin.mssante.fr", "8" + RPPS_A, True)]


def test_search_columns_are_filled(directory: Directory, tmp_path: Path) -> None:
    directory.load(write(tmp_path / "x.txt", activity_line(RPPS_A), activity_line(RPPS_A, **HOSPITAL)))
    a = activity.c
    near = directory.rows(sa.select(a.professional_idnps).where(
        a.postal_code == "34000", a.family_norm >= "lef", a.family_norm < "leg"))
    assert near == [("8" + RPPS_A,)]
    gps = directory.rows(sa.select(sa.func.count()).select_from(activity).where(a.specialty == "SM53"))
    assert gps == [(2,)]
    no_site = directory.rows(sa.select(a.street_number_suffix, a.role).where(a.organisation_id == "F340780477"))
    assert no_site == [(None, None)]  # absent values are NULL, not empty strings


@both_readers
def test_a_repeated_key_keeps_its_last_line(directory: Directory, tmp_path: Path) -> None:
    phone = "Téléphone (coord. structure)"
    first = [activity_line(RPPS_A, **{phone: "0100000001"}), activity_line(RPPS_B),
             activity_line(RPPS_A, **{phone: "0100000002"})]
    assert counts(directory.load(write(tmp_path / "v1.txt", *first))) == (2, 0, 1, 0, 0)  # a first load
    again = [activity_line(RPPS_A, **{phone: "0100000003"}), activity_line(RPPS_B),
             activity_line(RPPS_A, **{phone: "0100000004"})]
    report = directory.load(write(tmp_path / "v2.txt", *again))  # an update, keys repeated in one chunk
    assert (report.created, report.deactivated) == (0, 0)
    phones = {key[0]: row[2] for key, row in activities(directory).items()}
    assert phones == {"8" + RPPS_A: "0100000004", "8" + RPPS_B: None}
