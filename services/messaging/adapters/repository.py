"""Reads and writes of messages, deliveries and mailbox entries on a unit of work's connection."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.messaging.adapters.tables import deliveries, entries, messages
from services.messaging.domain.model import (
    DeliveryStatus,
    DeliveryView,
    Folder,
    RecipientKind,
)
from services.shared.db import UnitOfWork
from services.shared.db.rows import execute_rows


def ts(moment: datetime) -> float:
    return moment.timestamp()


def dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


_MESSAGE_INSERT, _DELIVERY_INSERT = messages.insert(), deliveries.insert()  # built once: see execute_rows


@lru_cache(maxsize=4)
def _entry_insert(dialect: str) -> sa.Insert:
    """A message is placed in a mailbox folder once: a redelivery's entry is left out."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement: sa.Insert = insert(entries).on_conflict_do_nothing(index_elements=["mailbox", "message_id", "folder"])
    return statement


def message_exists(conn: sa.Connection, message_id: str) -> bool:
    return conn.scalar(sa.select(messages.c.id).where(messages.c.id == message_id)) is not None


def add_messages(conn: sa.Connection, message_rows: Sequence[Mapping[str, Any]],
                 delivery_rows: Sequence[Mapping[str, Any]]) -> None:
    """Messages and their delivery rows, one statement per table."""
    execute_rows(conn, _MESSAGE_INSERT, message_rows)
    execute_rows(conn, _DELIVERY_INSERT, delivery_rows)


def add_messages_later(uow: UnitOfWork, message_rows: Sequence[dict[str, Any]],
                       delivery_rows: Sequence[dict[str, Any]]) -> None:
    """As ``add_messages``, written at the unit of work's next flush with its other writes."""
    for row in message_rows:
        uow.execute_later(_MESSAGE_INSERT, row)
    for row in delivery_rows:
        uow.execute_later(_DELIVERY_INSERT, row)


def entry_row(mailbox: str, folder: Folder, message_id: str, at: float) -> dict[str, Any]:
    return {"mailbox": mailbox, "folder": folder.value, "message_id": message_id, "delivered_at": at}


def add_entries(conn: sa.Connection, message_id: str, mailboxes: Iterable[str], folder: Folder, at: float) -> None:
    """Place a message in mailbox folders; one already there is left alone (a redelivery)."""
    add_entry_rows(conn, [entry_row(box, folder, message_id, at) for box in mailboxes])


def add_entry_rows(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Mailbox entries (``entry_row``); one already there is left alone: a message is in a folder once."""
    execute_rows(conn, _entry_insert(conn.dialect.name), rows)


def add_entry_rows_later(uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> None:
    """As ``add_entry_rows``, written at the unit of work's next flush with its other writes."""
    statement = _entry_insert(uow.connection.dialect.name)
    for row in rows:
        uow.execute_later(statement, row)


def mark_delivered(conn: sa.Connection, message_id: str, recipients: Sequence[str], at: float) -> None:
    conn.execute(
        deliveries.update()
        .where(deliveries.c.message_id == message_id, deliveries.c.recipient.in_(recipients),
               deliveries.c.status == DeliveryStatus.PENDING.value)
        .values(status=DeliveryStatus.DELIVERED.value, delivered_at=at)
    )


def mark_delivery_read(conn: sa.Connection, message_id: str, recipient: str, at: float) -> None:
    conn.execute(
        deliveries.update()
        .where(deliveries.c.message_id == message_id, deliveries.c.recipient == recipient,
               deliveries.c.read_at.is_(None))
        .values(read_at=at)
    )


def deliveries_of(conn: sa.Connection, message_id: str) -> tuple[DeliveryView, ...]:
    rows = conn.execute(
        sa.select(deliveries).where(deliveries.c.message_id == message_id).order_by(deliveries.c.recipient)
    ).mappings()
    return tuple(
        DeliveryView(recipient=row["recipient"], kind=RecipientKind(row["kind"]), status=DeliveryStatus(row["status"]),
                     code=row["code"], delivered_at=dt(row["delivered_at"]), read_at=dt(row["read_at"]))
        for row in rows
    )


def purge(conn: sa.Connection, deleted_before: float) -> int:
    """Drop entries deleted before the cut-off, then messages no mailbox holds any more."""
    gone = conn.execute(entries.delete().where(entries.c.deleted_at < deleted_before)).rowcount or 0
    held = sa.select(entries.c.message_id).where(entries.c.message_id == messages.c.id).exists()
    pending = sa.select(deliveries.c.message_id).where(
        deliveries.c.message_id == messages.c.id, deliveries.c.status == DeliveryStatus.PENDING.value).exists()
    orphans = sa.select(messages.c.id).where(~held, ~pending, messages.c.submitted_at < deleted_before)
    ids = list(conn.scalars(orphans))
    if ids:
        conn.execute(deliveries.delete().where(deliveries.c.message_id.in_(ids)))
        conn.execute(messages.delete().where(messages.c.id.in_(ids)))
    return int(gone)


def reading(engine: sa.Engine) -> sa.Connection:
    """A connection for reads only: on SQLite it does not take the write lock."""
    return engine.connect().execution_options(sqlite_begin="DEFERRED")
