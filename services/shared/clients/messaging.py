"""Messaging's client: have messaging send a secure message for a platform service (contract: ``message.requested``).

``request_message(uow, ...)`` publishes the command in the caller's unit of work, so the caller's state change and
its notice request commit together (the outbox relays the command after the commit). The subject, the text, the
attachments and the patient's INS are encrypted for the messaging operator's certificate (CMS EnvelopedData):
only routing metadata travels in clear on the bus. Messaging decrypts, checks the patient's objection, signs with
the operator key, encrypts for each recipient, delivers, and answers with ``message.sent`` and/or
``message.request_bounced`` carrying ``(requested_by, request_key)``. A request is carried out once per
``(requested_by, request_key)``: publish it again with the same key after a crash, never with a new one.
"""
from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from cryptography import x509
from pydantic import ValidationError

from services.shared.bus.envelope import CloudEvent
from services.shared.contracts.events import EventData
from services.shared.contracts.messaging_events import (
    MAX_REQUEST_ATTACHMENT_BYTES,
    MessageRequested,
    RequestedAttachment,
    RequestedContent,
)
from services.shared.errors import Invalid, TooLarge
from services.shared.identifiers import check_ins, check_mailbox_address, professional_idnps
from services.shared.pki.certs import check_certificate, load_certificates
from services.shared.pki.envelope_der import encrypt_der

# where a development messaging keeps its operator identity, under MAILLAGE_VAR_DIR (made when messaging starts)
DEV_OPERATOR_CERTIFICATE = Path("messaging-operator") / "operator.pem"
Priority = Literal["routine", "urgent", "asap", "stat"]


class Outbox(Protocol):
    """What the caller's unit of work (``services.shared.db.UnitOfWork``) offers: its service, and publish."""

    @property
    def service(self) -> str: ...

    def publish(self, event: EventData) -> CloudEvent: ...


@dataclass(frozen=True)
class NoticeAttachment:
    filename: str
    media_type: str  # what messaging accepts: PDF, CDA XML, FHIR JSON, IHE XDM zip
    data: bytes


def load_operator_certificate(path: Path, now: datetime | None = None) -> x509.Certificate:
    """The messaging operator's certificate (the first of a PEM file), checked usable for encryption.

    The same PEM file messaging's ``MAILLAGE_MESSAGING_OPERATOR_CERT`` names (its public part only), or in
    development ``<MAILLAGE_VAR_DIR>/messaging-operator/operator.pem`` (``DEV_OPERATOR_CERTIFICATE``).
    """
    certificate = load_certificates(path.read_bytes())[0]
    check_certificate(certificate, now or datetime.now(UTC), usage="encryption")
    return certificate


def seal_content(content: RequestedContent, operator_certificate: x509.Certificate) -> str:
    """``content`` as UTF-8 JSON encrypted for the operator (CMS EnvelopedData, AES-256), base64."""
    plain = content.model_dump_json(exclude_none=True).encode()
    return base64.b64encode(encrypt_der(plain, [operator_certificate])).decode("ascii")


def request_message(uow: Outbox, *, key: str, subject: str, text: str,
                    operator_certificate: x509.Certificate, addresses: Sequence[str] = (),
                    professionals: Sequence[str] = (), patient_ins: str | None = None,
                    attachments: Sequence[NoticeAttachment] = (), priority: Priority = "routine",
                    in_reply_to: str | None = None, thread_id: str | None = None) -> CloudEvent:
    """Ask messaging, in ``uow``'s transaction, to send a message from the platform's address for ``uow``'s service.

    ``key`` is the request's idempotency key, unique within the calling service (derive it from what caused the
    notice: ``f"admission-{stay_id}.gp"``). ``addresses`` are mailbox addresses, ``professionals`` RPPS or IDNPS
    numbers (messaging sends to their personal mailboxes). ``subject`` and ``text`` are French, written by the
    caller. Raises ``Invalid`` (naming the argument, never its value) before anything is published.
    """
    if sum(len(a.data) for a in attachments) > MAX_REQUEST_ATTACHMENT_BYTES:
        raise TooLarge(f"The attachments of a message request hold at most {MAX_REQUEST_ATTACHMENT_BYTES} bytes.",
                       expression="attachments")
    try:
        content = RequestedContent(
            subject=subject, text=text, patient_ins=check_ins(patient_ins) if patient_ins is not None else None,
            attachments=tuple(RequestedAttachment(filename=a.filename, media_type=a.media_type,
                                                  data=base64.b64encode(a.data).decode("ascii"))
                              for a in attachments))
        command = MessageRequested(
            requested_by=uow.service, request_key=key,
            addresses=tuple(dict.fromkeys(check_mailbox_address(a, "addresses") for a in addresses)),
            professionals=tuple(dict.fromkeys(professional_idnps(p, "professionals") for p in professionals)),
            content=seal_content(content, operator_certificate), priority=priority, in_reply_to=in_reply_to,
            thread_id=thread_id)
    except ValidationError as error:  # name the field, never the value (health data)
        first = error.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "request"
        raise Invalid(f"The message request breaks its contract at '{field}' ({first['type']}).",
                      expression=field) from None
    return uow.publish(command)
