"""Mailbox folder queries: one entry with its metadata, pages of entries, read and deleted marks."""
from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from services.messaging.adapters.repository import deliveries_of, dt, ts
from services.messaging.adapters.tables import entries, messages
from services.messaging.domain.commands import MailboxQuery
from services.messaging.domain.model import EntryView, Folder, Mode, Page, Priority
from services.shared.errors import Invalid

_COLUMNS = (
    entries.c.seq, entries.c.mailbox, entries.c.folder, entries.c.message_id, entries.c.delivered_at,
    entries.c.read_at, entries.c.deleted_at, messages.c.sender, messages.c.submitted_at, messages.c.priority,
    messages.c.mode, messages.c.size, messages.c.thread_id, messages.c.in_reply_to, messages.c.receipt_requested,
)
_JOINED = entries.join(messages, messages.c.id == entries.c.message_id)


def _view(row: Any, ciphertext: bytes | None = None) -> EntryView:
    return EntryView(
        seq=row.seq, mailbox=row.mailbox, folder=Folder(row.folder), message_id=row.message_id,
        sender=row.sender, submitted_at=dt(row.submitted_at), delivered_at=dt(row.delivered_at),  # type: ignore[arg-type]
        priority=Priority(row.priority), mode=Mode(row.mode), size=row.size, thread_id=row.thread_id,
        in_reply_to=row.in_reply_to, receipt_requested=bool(row.receipt_requested), read_at=dt(row.read_at),
        deleted_at=dt(row.deleted_at), ciphertext=ciphertext,
    )


def find_entry(conn: sa.Connection, mailbox: str, message_id: str, folder: Folder | None, *,
               with_content: bool = False) -> EntryView | None:
    """The message in this mailbox (the inbox copy first when no folder is named), deleted or not."""
    columns = (*_COLUMNS, messages.c.ciphertext) if with_content else _COLUMNS
    query = sa.select(*columns).select_from(_JOINED).where(
        entries.c.mailbox == mailbox, entries.c.message_id == message_id)
    if folder is not None:
        query = query.where(entries.c.folder == folder.value)
    row = conn.execute(query.order_by(entries.c.folder)).first()  # "inbox" sorts before "sent"
    if row is None:
        return None
    view = _view(row, row.ciphertext if with_content else None)
    if view.folder is Folder.SENT:
        return _with_deliveries(conn, view)
    return view


def _with_deliveries(conn: sa.Connection, view: EntryView) -> EntryView:
    return replace(view, deliveries=deliveries_of(conn, view.message_id))


def list_entries(conn: sa.Connection, query: MailboxQuery) -> Page:
    """Newest first; the cursor is the position of the last entry of the previous page."""
    statement = sa.select(*_COLUMNS).select_from(_JOINED).where(
        entries.c.mailbox == query.mailbox, entries.c.folder == query.folder.value)
    statement = statement.where(
        entries.c.deleted_at.is_not(None) if query.deleted else entries.c.deleted_at.is_(None))
    if query.cursor is not None:
        statement = statement.where(entries.c.seq < decode_cursor(query.cursor))
    if query.unread:
        statement = statement.where(entries.c.read_at.is_(None))
    if query.since is not None:
        statement = statement.where(entries.c.delivered_at >= ts(query.since))
    rows = conn.execute(statement.order_by(entries.c.seq.desc()).limit(query.limit + 1)).all()
    views = tuple(_view(row) for row in rows[: query.limit])
    more = len(rows) > query.limit
    return Page(views, encode_cursor(views[-1].seq) if more and views else None)


def set_read(conn: sa.Connection, seq: int, at: float) -> None:
    conn.execute(entries.update().where(entries.c.seq == seq, entries.c.read_at.is_(None)).values(read_at=at))


def set_deleted(conn: sa.Connection, seq: int, at: float | None) -> None:
    conn.execute(entries.update().where(entries.c.seq == seq).values(deleted_at=at))


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"e{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("e"):
            raise ValueError
        return int(raw[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("'cursor' is not a cursor this API returned; start again without it.",
                      expression="cursor") from None
