"""Mailboxes as the directory reports them, and the routing metadata of messages, deliveries and entries."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.shared.clients.directory import Mailbox as Mailbox  # the directory's answer, parsed by its client


class Priority(StrEnum):
    """FHIR Communication.priority; mapped to the mail Priority/Importance headers."""

    ROUTINE = "routine"
    URGENT = "urgent"
    ASAP = "asap"
    STAT = "stat"


class Mode(StrEnum):
    """Who signed and who encrypted a message."""

    PLATFORM_SIGNED = "platform-signed"  # the operator key attests the authenticated sender
    CLIENT_SIGNED = "client-signed"  # the sender signed, the platform encrypted
    END_TO_END = "end-to-end"  # the sender signed and encrypted; the platform only routes


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    BOUNCED = "bounced"


class Folder(StrEnum):
    INBOX = "inbox"
    SENT = "sent"


class RecipientKind(StrEnum):
    TO = "to"
    CC = "cc"


@dataclass(frozen=True)
class Author:
    """Who submitted a message: a professional (RPPS), an establishment (FINESS) or a platform service."""

    subject: str
    rpps: str | None = None
    finess: str | None = None
    service: str | None = None

    @property
    def label(self) -> str:
        """How the operator signature names the authenticated sender (identifiers only)."""
        if self.rpps:
            return f"rpps={self.rpps}"
        if self.service:
            return f"service={self.service}"
        return f"finess={self.finess}" if self.finess else f"subject={self.subject}"


@dataclass(frozen=True)
class Recipient:
    address: str
    kind: RecipientKind


@dataclass(frozen=True)
class DeliveryView:
    """One recipient's delivery status, as shown to the sender."""

    recipient: str
    kind: RecipientKind
    status: DeliveryStatus
    code: str | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None


@dataclass(frozen=True)
class Receipt:
    """The answer to a submission: the message id and each recipient's status."""

    message_id: str
    sender: str
    submitted_at: datetime
    deliveries: tuple[DeliveryView, ...]


@dataclass(frozen=True)
class EntryView:
    """A message as it sits in one mailbox folder: routing metadata and, when asked, the ciphertext."""

    seq: int
    mailbox: str
    folder: Folder
    message_id: str
    sender: str
    submitted_at: datetime
    delivered_at: datetime
    priority: Priority
    mode: Mode
    size: int
    thread_id: str
    in_reply_to: str | None
    receipt_requested: bool
    read_at: datetime | None = None
    deleted_at: datetime | None = None
    ciphertext: bytes | None = None
    deliveries: tuple[DeliveryView, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Page:
    entries: tuple[EntryView, ...]
    next_cursor: str | None
