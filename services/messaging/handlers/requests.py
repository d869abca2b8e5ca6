"""Messages platform services ask messaging to send for them (``message.requested``), once per (service, key).

The request's content was encrypted for the operator's certificate by the requesting service
(``services.shared.clients.messaging``): it is opened here, then sent as the platform's notices are — from the
platform's address, signed by the operator, encrypted for the recipients, placed in their mailboxes — and answered
with ``message.sent`` and/or ``message.request_bounced``. The message id is derived from (service, key), and the
key is kept with messaging's idempotency keys, so a retransmitted request has no second effect.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError

from services.messaging.adapters import idempotency, repository
from services.messaging.crypto.mime import Attachment
from services.messaging.domain.commands import Draft, Idempotency, SubmitMessage
from services.messaging.domain.errors import ExchangeObjection
from services.messaging.domain.model import Author, Mailbox, Priority, Recipient, RecipientKind
from services.messaging.domain.rules import bounce_code
from services.messaging.handlers.preparation import prepare
from services.messaging.handlers.submission import record
from services.messaging.platform import Platform
from services.messaging.ports import Clock, ProfessionalDirectory
from services.shared.contracts import Envelope as Event
from services.shared.contracts.events import service_of
from services.shared.contracts.messaging_events import (
    MessageRequestBounced,
    MessageRequested,
    MessageSent,
    RequestBounce,
    RequestedContent,
)
from services.shared.db import UnitOfWork
from services.shared.errors import Invalid, MaillageError, TooLarge, Unprocessable
from services.shared.identifiers import check_ins
from services.shared.logging import get_logger

REQUESTS = uuid.UUID("0b8f3a6e-2c1d-4f57-9e3a-7d5c1b2a4e60")
PERSONAL = "PER"
log = get_logger(__name__)
Bounced = list[tuple[str, str]]  # (the recipient as the request named it, or a mailbox; the bounce code)


def request_message_id(service: str, key: str) -> str:
    """The id of the message a request sends: the same for every retransmission of the request."""
    return str(uuid.uuid5(REQUESTS, f"{service}/{key}"))


def send_requested(event: Event[MessageRequested], *, uow: UnitOfWork, directory: ProfessionalDirectory,
                   platform: Platform, clock: Clock) -> None:
    """Carry out a platform service's request once; refuse (``Invalid``: dead letters) what no platform service
    sent, content the operator cannot open, and a key reused for another request."""
    data = event.data
    service = _requester(event)
    message_id = request_message_id(service, data.request_key)
    key = Idempotency(scope=f"service:{service}", key=data.request_key, fingerprint=_fingerprint(data))
    if _carried_out(uow, key, message_id):
        log.info("message request already carried out", requested_by=service, message_id=message_id)
        return
    content = _open(data.content, platform)
    now = clock()
    addresses, bounces = _recipients(data, directory, now)
    if not addresses:
        _answer(uow, key, message_id, None, [], bounces, now)
        return
    command = SubmitMessage(
        sender=platform.address, recipients=tuple(Recipient(address, RecipientKind.TO) for address in addresses),
        author=Author(subject=f"service:{service}", service=service), content=_draft(content),
        priority=Priority(data.priority), patient_ins=content.patient_ins, in_reply_to=data.in_reply_to,
        thread_id=data.thread_id, idempotency=key)
    try:
        prepared = prepare(command, directory=directory, platform=platform, clock=clock, message_id=message_id)
    except ExchangeObjection:
        log.info("message request refused: the patient objects to exchanges", requested_by=service)
        refused = [(recipient, "PATIENT_OBJECTION") for recipient in (*data.addresses, *data.professionals)]
        _answer(uow, key, message_id, None, [], refused, now)
        return
    except (TooLarge, Unprocessable) as error:  # what the content holds cannot change: no retry
        raise Invalid(str(error), expression=error.expression) from None
    bounces += [(recipient.address, code.value) for recipient, code in prepared.bounces]
    delivered = [recipient.address for recipient in prepared.deliverable]
    if delivered:
        record(prepared, uow)  # the message, its mailboxes, the key, message.submitted/delivered
    _answer(uow, key, message_id, message_id if delivered else None, delivered, bounces, prepared.submitted_at,
            key_saved=bool(delivered))


def _requester(event: Event[MessageRequested]) -> str:
    service = service_of(event.source)
    if service is None:
        raise Invalid("message.requested is taken from the platform's services only; its source names none.",
                      expression="source")
    if service != event.data.requested_by:
        raise Invalid("message.requested names another service in requested_by than its source.",
                      expression="data/requested_by")
    return service


def _fingerprint(data: MessageRequested) -> str:
    """What a retransmission repeats: not the content, encrypted anew at each publication."""
    facts = [sorted(data.addresses), sorted(data.professionals), data.priority, data.in_reply_to, data.thread_id]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def _carried_out(uow: UnitOfWork, key: Idempotency, message_id: str) -> bool:
    stored = idempotency.find(uow.connection, key)
    if stored is not None and stored.fingerprint != key.fingerprint:
        raise Invalid("This request_key was already used by the service for another request; use a new key for a "
                      "new message.", expression="data/request_key")
    return stored is not None or repository.message_exists(uow.connection, message_id)


def _open(content: str, platform: Platform) -> RequestedContent:
    try:
        plain = platform.operator.open(base64.b64decode(content, validate=True))
    except (binascii.Error, MaillageError, ValueError):
        raise Invalid("The request's content is not a CMS EnvelopedData the messaging operator can decrypt.",
                      expression="data/content") from None
    try:
        opened = RequestedContent.model_validate_json(plain)
    except ValidationError as error:
        where = "/".join(str(part) for part in ("content", *error.errors(include_input=False)[0]["loc"]))
        raise Invalid(f"The request's decrypted content breaks its contract at {where}.", expression=where) from None
    if opened.patient_ins is not None:
        opened = opened.model_copy(update={"patient_ins": check_ins(opened.patient_ins, "content/patient_ins")})
    return opened


def _draft(content: RequestedContent) -> Draft:
    try:
        attachments = tuple(Attachment(a.filename, a.media_type, base64.b64decode(a.data, validate=True))
                            for a in content.attachments)
    except binascii.Error:
        raise Invalid("An attachment of the request's content is not base64.",
                      expression="content/attachments") from None
    return Draft(content.subject, content.text, attachments=attachments)


def _recipients(data: MessageRequested, directory: ProfessionalDirectory, now: datetime) -> tuple[list[str], Bounced]:
    """The mailbox addresses to send to, and the professionals who have none that can receive the message.

    A professional is sent the message in their personal (PER) mailboxes that can receive it, else in the other
    mailboxes they own that can; the named addresses are taken as they are (prepare bounces those that cannot).
    """
    addresses = list(data.addresses)
    bounces: Bounced = []
    for identifier in data.professionals:
        owned = directory.professional_mailboxes(identifier)
        if owned is None:
            bounces.append((identifier, "UNKNOWN_PROFESSIONAL"))
            continue
        resolved = directory.resolve(owned) if owned else {}
        ready = [box for box in resolved.values() if box is not None and bounce_code(box, now) is None]
        chosen = _personal_first(ready)
        if not chosen:
            bounces.append((identifier, "NO_MAILBOX"))
        addresses += chosen
    return list(dict.fromkeys(addresses)), bounces


def _personal_first(mailboxes: Sequence[Mailbox]) -> list[str]:
    personal = [box.address for box in mailboxes if box.type == PERSONAL]
    return personal or [box.address for box in mailboxes]


def _answer(uow: UnitOfWork, key: Idempotency, message_id: str, sent_id: str | None, delivered: list[str],
            bounces: Bounced, at: datetime, *, key_saved: bool = False) -> None:
    """``message.sent`` and/or ``message.request_bounced``; the key kept (``record`` keeps it with a message)."""
    service = key.scope.removeprefix("service:")
    if not key_saved:
        body = {"message_id": sent_id, "bounces": [{"recipient": r, "code": c} for r, c in bounces]}
        idempotency.save(uow.connection, key, message_id, 422, body, at.timestamp())
    if sent_id is not None and delivered:
        uow.publish(MessageSent(requested_by=service, request_key=key.key, message_id=sent_id,
                                recipients=tuple(delivered), sent_at=at))
    if bounces:
        uow.publish(MessageRequestBounced(
            requested_by=service, request_key=key.key, message_id=sent_id,
            bounces=tuple(RequestBounce(recipient=r, code=c) for r, c in bounces),  # type: ignore[arg-type]
            bounced_at=at))
