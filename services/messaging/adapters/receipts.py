"""Read receipts as RFC 8098 message disposition notifications (multipart/report)."""
from __future__ import annotations

import quopri
import secrets
from email.header import Header
from email.utils import format_datetime

from services.messaging.adapters.composer import Envelope

DISPLAYED = "automatic-action/MDN-sent-automatically; displayed"
_CRLF = "\r\n"


def build_mdn(envelope: Envelope, *, subject: str, human_text: str, final_recipient: str,
              original_message_id: str) -> bytes:
    """CRLF, 7-bit MIME: a French human part and the machine-readable disposition notification."""
    boundary = "mdn_" + secrets.token_hex(12)
    head = [
        "MIME-Version: 1.0",
        f"From: {envelope.sender}",
        f"To: {', '.join(r.address for r in envelope.recipients)}",
        f"Date: {format_datetime(envelope.date)}",
        f"Message-ID: {envelope.message_ref()}",
        f"In-Reply-To: {envelope.message_ref(original_message_id)}",
        f"References: {envelope.message_ref(original_message_id)}",
        f"X-Maillage-Authenticated-Sender: {envelope.author.label}",
        f"Subject: {Header(subject, 'utf-8').encode()}",
        f'Content-Type: multipart/report; report-type=disposition-notification; boundary="{boundary}"',
    ]
    human = quopri.encodestring(human_text.replace("\n", _CRLF).encode()).decode().replace("\n", _CRLF)
    notification = [
        "Reporting-UA: maillage; Maillage secure messaging",
        f"Final-Recipient: rfc822; {final_recipient}",
        f"Original-Message-ID: {envelope.message_ref(original_message_id)}",
        f"Disposition: {DISPLAYED}",
    ]
    parts = [
        _part(["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"], human),
        _part(["Content-Type: message/disposition-notification"], _CRLF.join(notification) + _CRLF),
    ]
    body = "".join(f"--{boundary}{_CRLF}{part}{_CRLF}" for part in parts) + f"--{boundary}--{_CRLF}"
    return (_CRLF.join(head) + _CRLF + _CRLF + body).encode("ascii")


def _part(headers: list[str], body: str) -> str:
    return _CRLF.join(headers) + _CRLF + _CRLF + body
