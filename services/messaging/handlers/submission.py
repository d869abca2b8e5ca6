"""Submit a message: replay an idempotent retry, or seal it and commit message, jobs and events at once."""
from __future__ import annotations

from collections.abc import Callable
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


Commit = Callable[[Callable[[UnitOfWork], Any]], Any]  # runs a write in a committed transaction, returns its result


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
    def write(unit: UnitOfWork) -> dict[str, Any]:
        return record(prepared, unit, delivered_at=clock())

    try:
        body = (commit or _alone(uow))(write)
    except sa.exc.IntegrityError:
        # a concurrent retry with the same Idempotency-Key committed first: answer as it was answered
        stored = replay(command.idempotency, uow) if command.idempotency else None
        if stored is None:
            raise
        return stored
    return Submission(body)


def _alone(uow: UnitOfWork) -> Commit:
    def commit(write: Callable[[UnitOfWork], Any]) -> Any:
        with uow:
            result = write(uow)
            uow.commit()
        return result
    return commit


def replay(key: Idempotency, uow: UnitOfWork) -> Submission | None:
    with repository.reading(uow.engine) as conn:
        stored = idempotency.find(conn, key)
    if stored is None:
        return None
    if stored.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused()
    return Submission(stored.body, replayed=True)


def record(prepared: Prepared, uow: UnitOfWork, *, delivered_at: datetime | None = None) -> dict[str, Any]:
    """Write the message, the sender's copy, the audit record and the events, and deliver it.

    The recipients' mailboxes are this service's own tables: the message is placed in them in the
    same transaction as the submission (the unique (mailbox, message, folder) keeps it there once),
    so once committed it is delivered; ``message.submitted`` and ``message.delivered`` announce it.
    """
    command, conn, at = prepared.command, uow.connection, prepared.submitted_at.timestamp()
    delivered = delivered_at or prepared.submitted_at
    thread_id = command.thread_id or _thread_of(conn, command.in_reply_to) or prepared.message_id
    repository.add_message(conn, _message_row(prepared, thread_id), _delivery_rows(prepared, delivered.timestamp()))
    if prepared.sender_copy:
        repository.add_entries(conn, prepared.message_id, [command.sender], Folder.SENT, at)
    repository.add_entries(conn, prepared.message_id, [r.address for r in prepared.deliverable], Folder.INBOX,
                           delivered.timestamp())
    body = receipt_body(_receipt(prepared, delivered))
    if command.idempotency is not None:
        idempotency.save(conn, command.idempotency, prepared.message_id, 202, body, at)
    audit.append(conn, audit.AuditRecord(at, command.author.label, "message.submit", "accepted",
                                         prepared.message_id, command.sender))
    _publish(prepared, uow, delivered)
    return body


def _publish(prepared: Prepared, uow: UnitOfWork, delivered: datetime) -> None:
    command, subject = prepared.command, events.subject_of(prepared.message_id)
    if prepared.deliverable:
        addresses = [r.address for r in prepared.deliverable]
        uow.publish(events.SUBMITTED, events.submitted(
            prepared.message_id, command.sender, addresses, mode=prepared.mode.value,
            priority=command.priority.value, size=len(prepared.ciphertext), at=prepared.submitted_at), subject=subject)
        uow.publish(events.DELIVERED, events.delivered(prepared.message_id, command.sender, addresses, delivered),
                    subject=subject)
    if prepared.bounces:
        bounces = [(recipient.address, code) for recipient, code in prepared.bounces]
        uow.publish(events.BOUNCED, events.bounced(prepared.message_id, command.sender, bounces,
                                                   prepared.submitted_at, notify_sender=not prepared.notice),
                    subject=subject)


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
