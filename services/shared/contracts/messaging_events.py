"""The events the messaging service publishes: routing metadata of secure messages, never their content."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.shared.contracts.events import (
    ANY_PLATFORM_SERVICE,
    EventData,
    Example,
    Instant,
    MailboxAddress,
    Uuid,
)

PUBLISHER = "messaging"
MESSAGE_SUBMITTED = "message.submitted"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_BOUNCED = "message.bounced"
MESSAGE_READ = "message.read"

SendingMode = Literal["platform-signed", "client-signed", "end-to-end"]
MessagePriority = Literal["routine", "urgent", "asap", "stat"]
BounceCodeName = Literal["UNKNOWN_RECIPIENT", "INACTIVE_RECIPIENT", "NO_CERTIFICATE", "INVALID_CERTIFICATE",
                         "NOT_ENCRYPTED_FOR_RECIPIENT"]
_ID = "8d0e6c1b-2f4a-4c3e-9b7d-5a1f0e2c3d4b"
_TIME = "2026-11-23T09:20:00.200+00:00"
_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
_MESSAGE = "3f1c2a9e-5b7d-4e21-9c0a-6d8e2f4b1a77"
_JEANNE, _PAUL = "jeanne.martin@medecin.mssante.fr", "paul.durand@medecin.mssante.fr"


class _MessageEvent(EventData):
    PUBLISHER: ClassVar[str] = PUBLISHER
    SUBJECT_PATTERN: ClassVar[str | None] = "^Message/[0-9a-f-]{36}$"

    schema_version: Literal[1] = 1
    message_id: Uuid

    def subject(self) -> str:
        return f"Message/{self.message_id}"


class MessageSubmitted(_MessageEvent):
    """A secure message was accepted and committed: its delivery to `recipients` is due. Routing metadata only: the
    content is ciphertext in the messaging database, never on the bus."""

    TYPE: ClassVar[str] = MESSAGE_SUBMITTED
    SUMMARY: ClassVar[str] = (
        "A secure message was accepted and committed (ciphertext stored, local mailboxes already holding it). "
        "Routing metadata only; for other services and audit.")
    EXAMPLE: ClassVar[Example | None] = Example(_ID, _TIME, _TRACE, {
        "message_id": _MESSAGE, "sender": _JEANNE, "recipients": [_PAUL], "mode": "platform-signed",
        "priority": "routine", "size": 14213, "submitted_at": "2026-11-23T09:20:00.123+00:00"})

    sender: MailboxAddress
    recipients: Annotated[tuple[MailboxAddress, ...], Field(min_length=1, max_length=50)]
    mode: SendingMode
    priority: MessagePriority
    size: Annotated[int, Field(ge=0, description="Bytes of ciphertext.")]
    submitted_at: Instant


class MessageDelivered(_MessageEvent):
    """A secure message was placed in the mailboxes of `recipients` (each at most once)."""

    TYPE: ClassVar[str] = MESSAGE_DELIVERED
    SUMMARY: ClassVar[str] = "A secure message reached its recipients' mailboxes, each at most once."
    EXAMPLE: ClassVar[Example | None] = Example(_ID, _TIME, _TRACE, {
        "message_id": _MESSAGE, "sender": _JEANNE, "recipients": [_PAUL],
        "delivered_at": "2026-11-23T09:20:00.180+00:00"})

    sender: MailboxAddress
    recipients: Annotated[tuple[MailboxAddress, ...], Field(min_length=1)]
    delivered_at: Instant


class Bounce(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    recipient: MailboxAddress
    code: BounceCodeName


class MessageBounced(_MessageEvent):
    """Some recipients of a secure message cannot receive it; the others are delivered. `code` is the machine
    reason; the French sentence shown to the sender is in the bounce notice and the mailbox API."""

    TYPE: ClassVar[str] = MESSAGE_BOUNCED
    SUMMARY: ClassVar[str] = (
        "Some recipients of a message cannot receive it (unknown, inactive, no usable certificate); the sender "
        "gets a bounce notice.")
    EXAMPLE: ClassVar[Example | None] = Example(_ID, _TIME, _TRACE, {
        "message_id": _MESSAGE, "sender": _JEANNE,
        "bounces": [{"recipient": "inconnu@medecin.mssante.fr", "code": "UNKNOWN_RECIPIENT"}],
        "notify_sender": True, "bounced_at": "2026-11-23T09:20:00.123+00:00"})

    sender: MailboxAddress
    bounces: Annotated[tuple[Bounce, ...], Field(min_length=1)]
    notify_sender: Annotated[bool, Field(description="False for platform notices: a bounce never bounces.")]
    bounced_at: Instant


class MessageRead(_MessageEvent):
    """A recipient marked a secure message as read. A read receipt (RFC 8098 MDN) goes back to the sender only when
    `receipt_requested`."""

    TYPE: ClassVar[str] = MESSAGE_READ
    SUMMARY: ClassVar[str] = (
        "A recipient marked a message read; the sender gets an RFC 8098 read receipt if they asked for one.")
    EXAMPLE: ClassVar[Example | None] = Example(_ID, _TIME, _TRACE, {
        "message_id": _MESSAGE, "reader": _PAUL, "sender": _JEANNE, "receipt_requested": True,
        "read_at": "2026-11-23T10:02:41.007+00:00"})

    reader: MailboxAddress
    sender: MailboxAddress
    receipt_requested: bool
    read_at: Instant


# Sending a secure message on behalf of a platform service (docs/messaging.md, "Messages requested by a service").
# A command event: any platform service publishes ``message.requested``, messaging carries it out and answers with
# ``message.sent`` and/or ``message.request_bounced``, carrying the request's (requested_by, request_key).
MESSAGE_REQUESTED = "message.requested"
MESSAGE_SENT = "message.sent"
MESSAGE_REQUEST_BOUNCED = "message.request_bounced"
SEALED_CONTENT_TYPE = "application/vnd.maillage.message-request+json"  # what ``content`` decrypts to
MAX_REQUEST_RECIPIENTS = 50
MAX_REQUEST_ATTACHMENTS = 10
MAX_REQUEST_ATTACHMENT_BYTES = 2 * 1024 * 1024  # the attachments of one request together, decoded
MAX_REQUEST_CONTENT_CHARS = 4 * 1024 * 1024  # ``content``, base64: the bus carries no bigger command

RequestedBy = Annotated[str, Field(pattern=r"^[a-z_]+$", max_length=40,
                                   description="The requesting platform service (the envelope's source names it).")]
RequestKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$",
                                  description="The caller's idempotency key, unique per requesting service.")]
ProfessionalIdentifier = Annotated[str, Field(pattern=r"^([0-9]{11}|8[0-9]{11}|0[0-9]{9})$",
                                              description="RPPS (11 digits) or IDNPS (8 + RPPS, 0 + ADELI).")]
RequestBounceCodeName = Literal["UNKNOWN_RECIPIENT", "INACTIVE_RECIPIENT", "NO_CERTIFICATE", "INVALID_CERTIFICATE",
                                "NOT_ENCRYPTED_FOR_RECIPIENT", "UNKNOWN_PROFESSIONAL", "NO_MAILBOX",
                                "PATIENT_OBJECTION"]
_REQUEST_KEY = "admission-7f3a2c.notice-gp"
_SEALED = "MIAGCSqGSIb3DQEHA6CA"  # base64 DER of a CMS EnvelopedData (its first bytes only)


class RequestedAttachment(BaseModel):
    """An attachment of a requested message (inside the sealed content)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: Annotated[str, Field(min_length=1, max_length=255)]
    media_type: Annotated[str, Field(min_length=1, max_length=127)]
    data: Annotated[str, Field(description="Base64.")]


class RequestedContent(BaseModel):
    """What ``message.requested``'s ``content`` decrypts to, as UTF-8 JSON: the health content and the patient's
    INS travel only inside the CMS EnvelopedData encrypted for the messaging operator's certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: Annotated[str, Field(min_length=1, max_length=998)]
    text: Annotated[str, Field(min_length=1)]
    patient_ins: Annotated[str | None, Field(description="The patient's INS (NIR and key): messaging checks "
                                                         "their objection to exchanges first.")] = None
    attachments: Annotated[tuple[RequestedAttachment, ...], Field(max_length=MAX_REQUEST_ATTACHMENTS)] = ()


class MessageRequested(EventData):
    """A platform service asks messaging to send a secure message from the platform's address (a command event).
    Messaging resolves `addresses` and `professionals` (RPPS/IDNPS, to their personal mailboxes) through the
    directory, decrypts `content` (a CMS EnvelopedData for its operator certificate, base64), checks the patient's
    objection, signs with the operator key and encrypts for the recipients; once per (`requested_by`,
    `request_key`): a retransmitted request has no second effect. It answers with `message.sent` and/or
    `message.request_bounced`. Only routing metadata travels in clear."""

    TYPE: ClassVar[str] = MESSAGE_REQUESTED
    PUBLISHER: ClassVar[str] = ANY_PLATFORM_SERVICE
    SUBJECT_PATTERN: ClassVar[str | None] = "^MessageRequest/[a-z_]+/[A-Za-z0-9._:-]{1,128}$"
    SUMMARY: ClassVar[str] = (
        "A platform service asks messaging to send a secure message for it, from the platform's address; the "
        "content is encrypted for the messaging operator. Messaging answers with message.sent / "
        "message.request_bounced.")
    EXAMPLE: ClassVar[Example | None] = Example(_ID, _TIME, _TRACE, {
        "requested_by": "coordination", "request_key": _REQUEST_KEY, "addresses": [_PAUL],
        "professionals": ["810000000009"], "content": _SEALED, "in_reply_to": _MESSAGE}, publisher="coordination")

    schema_version: Literal[1] = 1
    requested_by: RequestedBy
    request_key: RequestKey
    addresses: Annotated[tuple[MailboxAddress, ...], Field(max_length=MAX_REQUEST_RECIPIENTS)] = ()
    professionals: Annotated[tuple[ProfessionalIdentifier, ...], Field(max_length=MAX_REQUEST_RECIPIENTS)] = ()
    content: Annotated[str, Field(min_length=4, max_length=MAX_REQUEST_CONTENT_CHARS, pattern=r"^[A-Za-z0-9+/]+=*$",
                                  description="Base64 of a CMS EnvelopedData (DER) for the messaging operator's "
                                              "certificate; it decrypts to a RequestedContent (UTF-8 JSON).")]
    priority: Literal["routine", "urgent", "asap", "stat"] = "routine"
    in_reply_to: Uuid | None = None
    thread_id: Uuid | None = None

    @model_validator(mode="after")
    def _someone(self) -> MessageRequested:
        if not self.addresses and not self.professionals:
            raise ValueError("a message request names at least one recipient")
        if len(self.addresses) + len(self.professionals) > MAX_REQUEST_RECIPIENTS:
            raise ValueError(f"a message request names at most {MAX_REQUEST_RECIPIENTS} recipients")
        return self

    def subject(self) -> str:
        return f"MessageRequest/{self.requested_by}/{self.request_key}"


class _RequestAnswer(EventData):
    PUBLISHER: ClassVar[str] = PUBLISHER
    SUBJECT_PATTERN: ClassVar[str | None] = MessageRequested.SUBJECT_PATTERN

    schema_version: Literal[1] = 1
    requested_by: RequestedBy
    request_key: RequestKey

    def subject(self) -> str:
        return f"MessageRequest/{self.requested_by}/{self.request_key}"


class MessageSent(_RequestAnswer):
    """The message a platform service requested reached the mailboxes of `recipients` (the others, if any, are in
    a `message.request_bounced` of the same request)."""

    TYPE: ClassVar[str] = MESSAGE_SENT
    SUMMARY: ClassVar[str] = "A requested message was delivered (signed by the operator, encrypted per recipient)."
    EXAMPLE: ClassVar[Example | None] = Example(_ID, _TIME, _TRACE, {
        "requested_by": "coordination", "request_key": _REQUEST_KEY, "message_id": _MESSAGE,
        "recipients": [_PAUL], "sent_at": "2026-11-23T09:20:00.180+00:00"})

    message_id: Uuid
    recipients: Annotated[tuple[MailboxAddress, ...], Field(min_length=1)]
    sent_at: Instant


class RequestBounce(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    recipient: Annotated[str, Field(max_length=254, description="As the request named it: an address or an "
                                                                "RPPS/IDNPS; or a professional's mailbox.")]
    code: RequestBounceCodeName


class MessageRequestBounced(_RequestAnswer):
    """Some or all recipients of a requested message cannot receive it (`message_id` null when nothing was sent:
    every recipient bounced, or `PATIENT_OBJECTION`, the patient objects to exchanges of their data)."""

    TYPE: ClassVar[str] = MESSAGE_REQUEST_BOUNCED
    SUMMARY: ClassVar[str] = (
        "Recipients of a requested message that cannot receive it (unknown, inactive, no certificate, unknown "
        "professional, no mailbox), or the patient's objection: nothing sent.")
    EXAMPLE: ClassVar[Example | None] = Example(_ID, _TIME, _TRACE, {
        "requested_by": "coordination", "request_key": _REQUEST_KEY, "message_id": _MESSAGE,
        "bounces": [{"recipient": "810000000009", "code": "UNKNOWN_PROFESSIONAL"}],
        "bounced_at": "2026-11-23T09:20:00.123+00:00"})

    message_id: Uuid | None
    bounces: Annotated[tuple[RequestBounce, ...], Field(min_length=1)]
    bounced_at: Instant
