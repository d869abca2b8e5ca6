"""Enrolments, and the professionals and mailboxes an enrolment reads and writes."""
from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa

from services.directory.adapters.connections import as_utc
from services.directory.adapters.tables import enrolment, mailbox, mailbox_owner, professional
from services.directory.domain.codes import MailboxType
from services.directory.domain.enrolment import Enrolment


def professional_row(connection: sa.Connection, idnps: str) -> sa.RowMapping | None:
    return connection.execute(sa.select(
        professional.c.idnps, professional.c.family, professional.c.given, professional.c.title,
        professional.c.civility, professional.c.active).where(professional.c.idnps == idnps)).mappings().first()


def mailbox_owners(connection: sa.Connection, address: str) -> tuple[str, ...] | None:
    """The active owners (IDNPS) of a mailbox, or None when there is no such mailbox."""
    found = connection.execute(sa.select(mailbox.c.type).where(mailbox.c.address == address)).first()
    if found is None:
        return None
    owners = connection.execute(sa.select(mailbox_owner.c.owner_idnps).where(
        mailbox_owner.c.address == address, mailbox_owner.c.active).order_by(mailbox_owner.c.owner_idnps))
    return tuple(owners.scalars())


def ensure_personal_mailbox(connection: sa.Connection, address: str, idnps: str, now: float) -> None:
    """A PER mailbox owned by ``idnps``: created, or (already his) made active again."""
    exists = connection.execute(sa.select(mailbox.c.address).where(mailbox.c.address == address)).first()
    if exists is None:
        connection.execute(mailbox.insert().values(address=address, type=MailboxType.PERSONAL.value, active=True,
                                                   content_hash=0, updated_at=now))
    else:
        connection.execute(mailbox.update().where(mailbox.c.address == address).values(active=True, updated_at=now))
    owned = sa.and_(mailbox_owner.c.address == address, mailbox_owner.c.owner_idnps == idnps)
    if connection.execute(sa.select(mailbox_owner.c.address).where(owned)).first() is None:
        connection.execute(mailbox_owner.insert().values(address=address, owner_idnps=idnps, active=True,
                                                         updated_at=now))
    else:
        connection.execute(mailbox_owner.update().where(owned).values(active=True, updated_at=now))


def insert(connection: sa.Connection, accepted: Enrolment) -> None:
    values = asdict(accepted)
    values.pop("certificate_fingerprint")
    connection.execute(enrolment.insert().values(**values))


def by_rpps(connection: sa.Connection, rpps: str) -> Enrolment | None:
    return _one(connection, enrolment.c.rpps == rpps)


def by_id(connection: sa.Connection, enrolment_id: str) -> Enrolment | None:
    return _one(connection, enrolment.c.id == enrolment_id)


def _one(connection: sa.Connection, where: sa.ColumnElement[bool]) -> Enrolment | None:
    row = connection.execute(sa.select(enrolment).where(where)).mappings().first()
    if row is None:
        return None
    values = dict(row)
    values["enrolled_at"] = as_utc(values["enrolled_at"])
    return Enrolment(**values)
