"""The people and mailboxes of the messaging tests, held by a real directory database.

``seed_directory(url, folder, pki)`` writes them the way the platform does: the national and MSSanté extracts
through the directory's importer (as an operator would), the certificates and a patient's objection through
its handlers (as the owners and an administrator would). The directory service then answers messaging's RPC
from that database — no stand-in.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from services.directory.adapters.annuaire_layout import PS_ACTIVITY_COLUMNS
from services.directory.domain.commands import PublishCertificate
from services.directory.handlers import certificates, patients
from services.directory.importer import import_extract
from services.shared.db import make_engine
from services.shared.db.migrations import upgrade
from tests.support.pki import Identity, make_ca, make_identity
from tests.unit.directory.directory_world import (
    ADMIN,
    MAILBOX_POLICY,
    MSSANTE_HEADER,
    Person,
    activity_line,
    unit_of_work,
)

RPPS = {"alice": "10000000009", "bob": "10000000017", "carol": "10000000025", "dave": "10000000033"}
ALICE, BOB, CAROL = "alice@cabinet.test", "bob@cabinet.test", "carol@clinique.test"
SECRETARIAT, INACTIVE, NEWCOMER = "secretariat@msp.test", "ferme@cabinet.test", "nouveau@cabinet.test"
REVOKED = "revocation@cabinet.test"  # its certificate gets revoked by a test: used by no other test
OBJECTING_INS = "269054958815780"

PEOPLE = {
    "alice": Person(RPPS["alice"], "DR", "MME", "MARTIN", "Alice", "10", "SM54"),
    "bob": Person(RPPS["bob"], "DR", "M", "DURAND", "Bob", "10", "SM53"),
    "carol": Person(RPPS["carol"], "", "MME", "PETIT", "Carol", "60"),
    "dave": Person(RPPS["dave"], "DR", "M", "BERNARD", "Dave", "10", "SM54"),
}
# (type, address, owner, whose certificate: one certificate per mailbox, as the directory demands): an ORG
# mailbox shared by two owners, one that the next national extract no longer lists (inactive), one for an
# enrolment to come
MAILBOXES = [("PER", ALICE, "alice", "alice"), ("PER", BOB, "bob", "bob"), ("PER", CAROL, "carol", "carol"),
             ("ORG", SECRETARIAT, "bob", "secretariat"), ("ORG", SECRETARIAT, "carol", "secretariat"),
             ("PER", INACTIVE, "dave", "ferme"), ("PER", NEWCOMER, "dave", "dave"), ("PER", REVOKED, "dave", "erin")]
SITE = "C79427768100019"


def make_pki(name: str) -> dict[str, Identity]:
    ca = make_ca(name)
    # each certificate names the mailbox it is published for (the directory refuses one that does not)
    return {"ca": ca, "alice": make_identity(ca, "Alice Martin", email=ALICE),
            "bob": make_identity(ca, "Bob Durand", email=BOB), "carol": make_identity(ca, "Carol Petit", kind="ec",
                                                                                      email=CAROL),
            "dave": make_identity(ca, "Dave Bernard", email=NEWCOMER),
            "erin": make_identity(ca, "Erin Revoquee", email=REVOKED),
            "secretariat": make_identity(ca, "Secretariat MSP", email=SECRETARIAT),
            "ferme": make_identity(ca, "Boite Fermee", email=INACTIVE)}


Mailbox = tuple[str, str, str, str]


def _write_mailboxes(path: Path, people: dict[str, Person], mailboxes: list[Mailbox],
                     leave_out: tuple[str, ...] = ()) -> None:
    lines = ["|".join(MSSANTE_HEADER) + "|\n"]
    for kind, address, owner, _ in mailboxes:
        if address not in leave_out:
            rpps = people[owner].rpps
            lines.append("|".join((kind, address, "8", rpps, "8" + rpps, "", "", "", "", "75011", "")) + "|\n")
    path.write_text("".join(lines), encoding="utf-8")


def seed_directory(url: str, folder: Path, pki: dict[str, Identity], *, people: dict[str, Person] | None = None,
                   mailboxes: list[Mailbox] | None = None) -> None:
    """Migrate the directory database at ``url`` and fill it with the messaging tests' world (or another one:
    ``people`` by name, ``mailboxes`` as (type, address, owner's name, name of the certificate's holder in pki))."""
    people = PEOPLE if people is None else people
    mailboxes = MAILBOXES if mailboxes is None else mailboxes
    upgrade("directory", url)
    activities, boxes, later = folder / "activite.txt", folder / "mssante.txt", folder / "mssante-next.txt"
    activities.write_text("|".join(PS_ACTIVITY_COLUMNS) + "|\n" + "".join(
        activity_line(person, SITE, "L") for person in people.values()), encoding="utf-8")
    _write_mailboxes(boxes, people, mailboxes)
    _write_mailboxes(later, people, mailboxes, leave_out=(INACTIVE,))
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        def uow() -> Any:
            return unit_of_work(engine)

        for extract in (activities, boxes):
            import_extract(extract, uow=uow)
        published: set[str] = set()
        for _, address, _, holder in mailboxes:
            if address not in published:
                pem = pki[holder].cert.public_bytes(serialization.Encoding.PEM).decode()
                certificates.publish_certificate(PublishCertificate(pem, address, None), uow=uow(), actor=ADMIN,
                                                 clock=lambda: now, policy=MAILBOX_POLICY)
                published.add(address)
        import_extract(later, uow=uow)  # the inactive mailbox is no longer listed: deactivated
        patients.record_objection(OBJECTING_INS, True, False, uow=uow(), actor=ADMIN, clock=lambda: now)
    finally:
        engine.dispose()
