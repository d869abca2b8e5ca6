"""Submit a message: replay an idempotent retry, or seal it and commit message, jobs and events at once."""
from __future__ import annotations

from dataclasses import dataclass
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


def submit(command: SubmitMessage, *, uow: UnitOfWork, directory: DirectoryPort, platform: Platform,
           clock: Clock) -> Submission:
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
        with uow:
            body = record(prepared, uow)
            uow.commit()
    except sa.exc.IntegrityError:
        # a concurrent retry with the same Idempotency-Key committed first: answer as it was answered
        stored = replay(command.idempotency, uow) if command.idempotency else None
        if stored is None:
            raise
        return stored
    return Submission(body)


def replay(key: Idempotency, uow: UnitOfWork) -> Submission | None:
    with repository.reading(uow.engine) as conn:
        stored = idempotency.find(conn, key)
    if stored is None:
        return None
    if stored.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused()
    return Submission(stored.body, replayed=True)


def record(prepared: Prepared, uow: UnitOfWork) -> dict[str, Any]:
    """Write the message, its delivery jobs, the sender's copy, the audit record and the events."""
    command, conn, at = prepared.command, uow.connection, prepared.submitted_at.timestamp()
    thread_id = command.thread_id or _thread_of(conn, command.in_reply_to) or prepared.message_id
    repository.add_message(conn, _message_row(prepared, thread_id), _delivery_rows(prepared))
    if prepared.sender_copy:
        repository.add_entries(conn, prepared.message_id, [command.sender], Folder.SENT, at)
    body = receipt_body(_receipt(prepared))
    if command.idempotency is not None:
        idempotency.save(conn, command.idempotency, prepared.message_id, 202, body, at)
    audit.append(conn, audit.AuditRecord(at, command.author.label, "message.submit", "accepted",
                                         prepared.message_id, command.sender))
    _publish(prepared, uow)
    return body


def _publish(prepared: Prepared, uow: UnitOfWork) -> None:
    command, subject = prepared.command, events.subject_of(prepared.message_id)
    if prepared.deliverable:
        uow.publish(events.SUBMITTED, events.submitted(
            prepared.message_id, command.sender, [r.address for r in prepared.deliverable], mode=prepared.mode.value,
            priority=command.priority.value, size=len(prepared.ciphertext), at=prepared.submitted_at), subject=subject)
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


def _delivery_rows(prepared: Prepared) -> list[dict[str, Any]]:
    rows = [{"message_id": prepared.message_id, "recipient": r.address, "kind": r.kind.value,
             "status": DeliveryStatus.PENDING.value, "code": None} for r in prepared.deliverable]
    rows += [{"message_id": prepared.message_id, "recipient": r.address, "kind": r.kind.value,
              "status": DeliveryStatus.BOUNCED.value, "code": code.value} for r, code in prepared.bounces]
    return rows


def _receipt(prepared: Prepared) -> Receipt:
    views = [DeliveryView(r.address, r.kind, DeliveryStatus.PENDING) for r in prepared.deliverable]
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
