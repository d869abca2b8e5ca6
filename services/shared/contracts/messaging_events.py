"""The events the messaging service publishes: routing metadata of secure messages, never their content."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.shared.contracts.events import EventData, Example, Instant, MailboxAddress, Uuid

PUBLISHER = "messaging"
MESSAGE_SUBMITTED = "message.submitted"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_BOUNCED = "message.bounced"
MESSAGE_READ = "message.read"

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
    mode: Literal["platform-signed", "client-signed", "end-to-end"]
    priority: Literal["routine", "urgent", "asap", "stat"]
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
