"""Enrolments, and the professionals and mailboxes an enrolment reads and writes."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime

import sqlalchemy as sa

from services.directory.adapters import certificate_store
from services.directory.adapters.connections import as_utc
from services.directory.adapters.tables import enrolment, mailbox, mailbox_owner, professional
from services.directory.domain.codes import MailboxType
from services.directory.domain.enrolment import Enrolment
from services.directory.domain.mailboxes import KnownAddress


def professional_row(connection: sa.Connection, idnps: str, *, lock: bool = False) -> sa.RowMapping | None:
    """The national data of one professional; ``lock``: his row stays locked until the commit (PostgreSQL)."""
    query = sa.select(professional.c.idnps, professional.c.family, professional.c.given, professional.c.title,
                      professional.c.civility, professional.c.active).where(professional.c.idnps == idnps)
    return connection.execute(query.with_for_update() if lock else query).mappings().first()


def lock_professionals(connection: sa.Connection, idnps: Iterable[str]) -> None:
    """Lock these professionals' rows until the commit, in one order (PostgreSQL; SQLite has one writer anyway).

    An enrolment and a certificate publication for the same professional then run one after the other, so
    the enrolment either sees the certificate (kit sent) or the publication sees the held kit (released).
    """
    wanted = sorted(set(idnps))
    if wanted:
        connection.execute(sa.select(professional.c.idnps).where(professional.c.idnps.in_(wanted)).order_by(
            professional.c.idnps).with_for_update()).all()


def mailbox_owners(connection: sa.Connection, address: str) -> tuple[str, ...] | None:
    """The active owners (IDNPS) of a mailbox, or None when there is no such mailbox."""
    found = connection.execute(sa.select(mailbox.c.type).where(mailbox.c.address == address)).first()
    if found is None:
        return None
    owners = connection.execute(sa.select(mailbox_owner.c.owner_idnps).where(
        mailbox_owner.c.address == address, mailbox_owner.c.active).order_by(mailbox_owner.c.owner_idnps))
    return tuple(owners.scalars())


def known_addresses(connection: sa.Connection, addresses: Iterable[str]) -> dict[str, KnownAddress | None]:
    """What the directory holds about each address (normalised): None when neither a mailbox nor an enrolment."""
    wanted = sorted(set(addresses))
    if not wanted:
        return {}
    boxes = {address: bool(active) for address, active in connection.execute(
        sa.select(mailbox.c.address, mailbox.c.active).where(mailbox.c.address.in_(wanted)))}
    owners: dict[str, set[str]] = {}
    for address, owner in connection.execute(sa.select(mailbox_owner.c.address, mailbox_owner.c.owner_idnps).where(
            mailbox_owner.c.address.in_(wanted), mailbox_owner.c.active)):
        owners.setdefault(address, set()).add(owner)
    enrolled: dict[str, set[str]] = {}
    for address, idnps in connection.execute(sa.select(enrolment.c.mailbox, enrolment.c.idnps).where(
            enrolment.c.mailbox.in_(wanted))):
        enrolled.setdefault(address, set()).add(idnps)
    return {address: KnownAddress(boxes.get(address, False),
                                  frozenset(owners.get(address, ())), frozenset(enrolled.get(address, ())))
            if address in boxes or address in enrolled else None for address in wanted}


def known_address(connection: sa.Connection, address: str) -> KnownAddress | None:
    return known_addresses(connection, (address,))[address]


def kit_can_go(connection: sa.Connection, address: str, idnps: str, now: datetime) -> bool:
    """Whether the mailbox can receive the (encrypted) account kit: the rule of ``resolve_addresses``.

    A valid unrevoked certificate of the mailbox, else one of its single active owner's own.
    """
    boxes, people = certificate_store.usable(connection, mailboxes=(address,), owners=(idnps,), now=now)
    if address in boxes:
        return True
    return idnps in people and mailbox_owners(connection, address) == (idnps,)


def held_kits(connection: sa.Connection, *, mailbox_address: str | None = None,
              idnps: str | None = None) -> list[Enrolment]:
    """The enrolments whose account kit waits, for a mailbox or for a professional."""
    where = enrolment.c.mailbox == mailbox_address if mailbox_address is not None else enrolment.c.idnps == idnps
    rows = connection.execute(sa.select(enrolment).where(where, enrolment.c.kit_held).order_by(
        enrolment.c.id)).mappings().all()
    return [_enrolment(row) for row in rows]


def release_kit(connection: sa.Connection, enrolment_id: str) -> bool:
    """The kit no longer waits; False when another transaction released it first."""
    done = connection.execute(enrolment.update().where(enrolment.c.id == enrolment_id, enrolment.c.kit_held).values(
        kit_held=False))
    return done.rowcount == 1


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
    return _enrolment(row) if row is not None else None


def _enrolment(row: sa.RowMapping) -> Enrolment:
    values = dict(row)
    values["enrolled_at"] = as_utc(values["enrolled_at"])
    return Enrolment(**values)
