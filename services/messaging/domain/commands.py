"""What callers ask the messaging service to do."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.messaging.crypto.mime import Attachment
from services.messaging.domain.model import Author, Folder, Priority, Recipient


@dataclass(frozen=True)
class Draft:
    """A message the platform builds as MIME and signs with the operator key."""

    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    cda_code: str | None = None


@dataclass(frozen=True)
class SignedByClient:
    """An S/MIME signed entity the sender made; the platform verifies it and encrypts it."""

    smime: bytes


@dataclass(frozen=True)
class EncryptedByClient:
    """An S/MIME enveloped entity the sender made (end to end); the platform only routes it."""

    smime: bytes


Content = Draft | SignedByClient | EncryptedByClient


@dataclass(frozen=True)
class Idempotency:
    """A client's Idempotency-Key, scoped to its caller, and a fingerprint of the request it came with."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class SubmitMessage:
    sender: str
    recipients: tuple[Recipient, ...]
    author: Author
    content: Content
    priority: Priority = Priority.ROUTINE
    patient_ins: str | None = None
    in_reply_to: str | None = None
    thread_id: str | None = None
    read_receipt: bool = False
    idempotency: Idempotency | None = None


@dataclass(frozen=True)
class MailboxQuery:
    mailbox: str
    folder: Folder = Folder.INBOX
    limit: int = 50
    cursor: str | None = None
    unread: bool = False
    since: datetime | None = None
    deleted: bool = False


@dataclass(frozen=True)
class EntryAction:
    """Read, mark read, delete or restore one message in one mailbox folder."""

    mailbox: str
    message_id: str
    author: Author
    folder: Folder | None = None  # None: the inbox copy if there is one, else the sent copy
