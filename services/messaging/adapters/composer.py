"""The MIME entity of a message the platform builds: the sender's content plus routing headers."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from services.messaging.crypto.mime import MessageContent
from services.messaging.crypto.mime_writer import write_message
from services.messaging.domain.commands import Draft
from services.messaging.domain.model import Author, Priority, Recipient, RecipientKind

AUTHENTICATED_SENDER = "X-Maillage-Authenticated-Sender"
INS_HEADER = "X-MSS-INS"


@dataclass(frozen=True)
class Envelope:
    """Routing facts every platform-built message carries in its headers."""

    message_id: str
    sender: str
    recipients: Sequence[Recipient]
    author: Author
    date: datetime
    domain: str
    priority: Priority = Priority.ROUTINE
    in_reply_to: str | None = None

    def message_ref(self, message_id: str | None = None) -> str:
        return f"<{message_id or self.message_id}@{self.domain}>"


def routing_headers(envelope: Envelope) -> dict[str, str]:
    headers = {
        "From": envelope.sender,
        "Date": format_datetime(envelope.date),
        "Message-ID": envelope.message_ref(),
        AUTHENTICATED_SENDER: envelope.author.label,
    }
    for kind, name in ((RecipientKind.TO, "To"), (RecipientKind.CC, "Cc")):
        addresses = [r.address for r in envelope.recipients if r.kind is kind]
        if addresses:
            headers[name] = ", ".join(addresses)
    if envelope.in_reply_to:
        headers["In-Reply-To"] = headers["References"] = envelope.message_ref(envelope.in_reply_to)
    if envelope.priority is not Priority.ROUTINE:
        headers.update({"Priority": "urgent", "Importance": "high", "X-Priority": "1"})
    return headers


def compose(draft: Draft, envelope: Envelope, *, patient_ins: str | None, read_receipt: bool) -> bytes:
    """CRLF, 7-bit MIME ready to sign; the INS rides inside the (encrypted) entity, never in metadata."""
    headers = routing_headers(envelope)
    if patient_ins:
        headers[INS_HEADER] = patient_ins
    content = MessageContent(
        subject=draft.subject, text=draft.text, html=draft.html, attachments=draft.attachments,
        headers=headers, cda_code=draft.cda_code, receipt_to=envelope.sender if read_receipt else None,
    )
    return write_message(content)
