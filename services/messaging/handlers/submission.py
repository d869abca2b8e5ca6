"""Submit a message: replay an idempotent retry, or seal it and commit message, jobs and events at once."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.messaging.adapters import audit, idempotency, repository
from services.messaging.adapters.serialise import receipt_body
from services.messaging.adapters.tables import messages
from services.messaging.domain import events
from services.messaging.domain.commands import Idempotency, SubmitMessage
from services.messaging.domain.errors import ExchangeObjection, IdempotencyKeyReused
from services.messaging.domain.model import DeliveryStatus, DeliveryView, Folder, Receipt
from services.messaging.handlers.preparation import Prepared, prepare
from services.messaging.platform import Platform
from services.messaging.ports import Clock, DirectoryPort
from services.shared.db import UnitOfWork


@dataclass(frozen=True)
class Submission:
    body: dict[str, Any]  # the receipt, as the API answers it
    replayed: bool = False


Commit = Callable[[Prepared], dict[str, Any]]  # records a prepared message in a committed transaction: its receipt


def submit(command: SubmitMessage, *, uow: UnitOfWork, directory: DirectoryPort, platform: Platform,
           clock: Clock, commit: Commit | None = None) -> Submission:
    """Seal outside any transaction, then commit the message already delivered to its local mailboxes.

    ``commit`` (a group commit, see handlers.group_commit) may share the transaction with concurrent
    submissions; by default the submission commits in ``uow`` alone. Either way it returns once committed.
    """
    if command.idempotency is not None:
        stored = replay(command.idempotency, uow)
        if stored is not None:
            return stored
    try:
        prepared = prepare(command, directory=directory, platform=platform, clock=clock)
    except ExchangeObjection:
        _audit_refusal(command, uow, clock)
        raise
    try:
        body = (commit or _alone(uow, clock))(prepared)
    except sa.exc.IntegrityError:
        # a concurrent retry with the same Idempotency-Key committed first: answer as it was answered
        stored = replay(command.idempotency, uow) if command.idempotency else None
        if stored is None:
            raise
        return stored
    return Submission(body)


def _alone(uow: UnitOfWork, clock: Clock) -> Commit:
    def commit(prepared: Prepared) -> dict[str, Any]:
        with uow:
            body = record(prepared, uow, delivered_at=clock())
            uow.commit()
        return body
    return commit


def write_submissions(uow: UnitOfWork, group: Sequence[tuple[Prepared, str | None]], *,
                      clock: Clock) -> list[dict[str, Any]]:
    """A group commit's writer: the group's prepared messages (with each one's trace) in one go."""
    return record_many(group, uow, delivered_at=clock())


def replay(key: Idempotency, uow: UnitOfWork) -> Submission | None:
    with repository.reading(uow.engine) as conn:
        stored = idempotency.find(conn, key)
    if stored is None:
        return None
    if stored.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused()
    return Submission(stored.body, replayed=True)


def record(prepared: Prepared, uow: UnitOfWork, *, delivered_at: datetime | None = None) -> dict[str, Any]:
    """Write the message, the sender's copy, the audit record and the events, and deliver it; its receipt."""
    return record_many([(prepared, None)], uow, delivered_at=delivered_at, follow=False)[0]


def record_many(group: Sequence[tuple[Prepared, str | None]], uow: UnitOfWork, *,
                delivered_at: datetime | None = None, follow: bool = True) -> list[dict[str, Any]]:
    """Write messages, their senders' copies, audit records and events, and deliver them; their receipts.

    The recipients' mailboxes are this service's own tables: a message is placed in them in the same
    transaction as its submission (the unique (mailbox, message, folder) keeps it there once), so once
    committed it is delivered; ``message.submitted`` and ``message.delivered`` announce it. The rows
    are written at the commit's flush, one statement per table for the whole group (on PostgreSQL one
    statement for all the tables, the audit chain's lock and last link read before it in one round
    trip); each message's events continue its own trace.
    """
    conn = uow.connection
    message_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    key_rows: list[dict[str, Any]] = []
    audits, bodies = [], []
    for prepared, _ in group:
        command, at = prepared.command, prepared.submitted_at.timestamp()
        delivered = delivered_at or prepared.submitted_at
        thread_id = command.thread_id or _thread_of(conn, command.in_reply_to) or prepared.message_id
        message_rows.append(_message_row(prepared, thread_id))
        delivery_rows += _delivery_rows(prepared, delivered.timestamp())
        if prepared.sender_copy:
            entry_rows.append(repository.entry_row(command.sender, Folder.SENT, prepared.message_id, at))
        entry_rows += [repository.entry_row(r.address, Folder.INBOX, prepared.message_id, delivered.timestamp())
                       for r in prepared.deliverable]
        body = receipt_body(_receipt(prepared, delivered))
        bodies.append(body)
        if command.idempotency is not None:
            key_rows.append(idempotency.row(command.idempotency, prepared.message_id, 202, body, at))
        audits.append(audit.AuditRecord(at, command.author.label, "message.submit", "accepted",
                                        prepared.message_id, command.sender))
    # written at the commit's flush, with the events: on PostgreSQL one statement for every table
    repository.add_messages_later(uow, message_rows, delivery_rows)
    repository.add_entry_rows_later(uow, entry_rows)
    idempotency.save_rows_later(uow, key_rows)
    audit.append_many_later(uow, audits)
    for prepared, traceparent in group:
        if follow:
            uow.follow(traceparent)
        _publish(prepared, uow, delivered_at or prepared.submitted_at)
    return bodies


def _publish(prepared: Prepared, uow: UnitOfWork, delivered: datetime) -> None:
    command = prepared.command
    if prepared.deliverable:
        addresses = [r.address for r in prepared.deliverable]
        uow.publish(events.submitted(
            prepared.message_id, command.sender, addresses, mode=prepared.mode.value,
            priority=command.priority.value, size=len(prepared.ciphertext), at=prepared.submitted_at))
        uow.publish(events.delivered(prepared.message_id, command.sender, addresses, delivered))
    if prepared.bounces:
        bounces = [(recipient.address, code) for recipient, code in prepared.bounces]
        uow.publish(events.bounced(prepared.message_id, command.sender, bounces, prepared.submitted_at,
                                   notify_sender=not prepared.notice))


def _thread_of(conn: sa.Connection, message_id: str | None) -> str | None:
    if message_id is None:
        return None
    return conn.scalar(sa.select(messages.c.thread_id).where(messages.c.id == message_id))


def _message_row(prepared: Prepared, thread_id: str) -> dict[str, Any]:
    command = prepared.command
    return {
        "id": prepared.message_id, "sender": command.sender, "author": command.author.label,
        "submitted_at": prepared.submitted_at.timestamp(), "priority": command.priority.value,
        "mode": prepared.mode.value, "thread_id": thread_id, "in_reply_to": command.in_reply_to,
        "receipt_requested": command.read_receipt, "notice": prepared.notice, "size": len(prepared.ciphertext),
        "ciphertext": prepared.ciphertext,
    }


def _delivery_rows(prepared: Prepared, delivered_at: float) -> list[dict[str, Any]]:
    rows = [{"message_id": prepared.message_id, "recipient": r.address, "kind": r.kind.value,
             "status": DeliveryStatus.DELIVERED.value, "code": None, "delivered_at": delivered_at}
            for r in prepared.deliverable]
    rows += [{"message_id": prepared.message_id, "recipient": r.address, "kind": r.kind.value,
              "status": DeliveryStatus.BOUNCED.value, "code": code.value, "delivered_at": None}
             for r, code in prepared.bounces]
    return rows


def _receipt(prepared: Prepared, delivered: datetime) -> Receipt:
    views = [DeliveryView(r.address, r.kind, DeliveryStatus.DELIVERED, delivered_at=delivered)
             for r in prepared.deliverable]
    views += [DeliveryView(r.address, r.kind, DeliveryStatus.BOUNCED, code.value) for r, code in prepared.bounces]
    order = {r.address: i for i, r in enumerate(prepared.command.recipients)}
    views.sort(key=lambda view: order.get(view.recipient, 0))
    return Receipt(prepared.message_id, prepared.command.sender, prepared.submitted_at, tuple(views))


def _audit_refusal(command: SubmitMessage, uow: UnitOfWork, clock: Clock) -> None:
    """A refused message leaves nothing behind but this trace (identifiers only, never the INS)."""
    with uow:
        audit.append(uow.connection, audit.AuditRecord(clock().timestamp(), command.author.label, "message.submit",
                                                       "rejected:objection", None, command.sender))
        uow.commit()
