"""Build the MIME entity of a secure message from a typed value, and parse it back."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from services.shared.errors import Invalid

from .xdm import carries_cda

CDA_CODE_HEADER = "X-MSS-CODECDA"
RECEIPT_HEADER = "Disposition-Notification-To"
# Headers the builder writes itself; letting callers set them would break the structure.
_RESERVED = {
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "mime-version",
    "subject",
    CDA_CODE_HEADER.lower(),
    RECEIPT_HEADER.lower(),
}
# CRLF and 7-bit only: signed content must survive mail transport unchanged (RFC 8551 §3.1).
_POLICY = email.policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: (
        str  # e.g. "application/pdf", "text/xml", "application/fhir+json", "application/zip"
    )
    data: bytes


@dataclass(frozen=True)
class MessageContent:
    """A secure message before signing; ``text`` and ``html`` use "\\n" line ends."""

    subject: str
    text: str
    html: str | None = None
    attachments: Sequence[Attachment] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    cda_code: str | None = None  # X-MSS-CODECDA, required when a CDA document is attached
    receipt_to: str | None = None  # Disposition-Notification-To: ask for a read receipt (MDN)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attachments", tuple(self.attachments))
        object.__setattr__(self, "headers", dict(self.headers))


def build_message(content: MessageContent) -> bytes:
    """The MIME entity (CRLF, 7-bit) to sign: text, optional HTML alternative, attachments."""
    _check_headers(content)
    if content.cda_code is None and any(
        carries_cda(a.media_type, a.data) for a in content.attachments
    ):
        raise Invalid(
            f"A CDA document is attached, so the {CDA_CODE_HEADER} header "
            "(its document code) is required.",
            expression="cda_code",
        )
    message = EmailMessage(policy=_POLICY)
    message["MIME-Version"] = "1.0"
    message["Subject"] = content.subject
    for name, value in content.headers.items():
        message[name] = value
    if content.cda_code is not None:
        message[CDA_CODE_HEADER] = content.cda_code
    if content.receipt_to is not None:
        message[RECEIPT_HEADER] = content.receipt_to
    message.set_content(content.text, cte="quoted-printable")
    if content.html is not None:
        message.add_alternative(content.html, subtype="html", cte="quoted-printable")
    for attachment in content.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        if not subtype:
            raise Invalid(
                "An attachment's media type must look like 'type/subtype'.", expression="media_type"
            )
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            cte="base64",
        )
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # the email package repeats it in parts; only the top belongs
    return message.as_bytes(policy=_POLICY)


def _check_headers(content: MessageContent) -> None:
    values = [
        content.subject,
        *content.headers,
        *content.headers.values(),
        content.cda_code or "",
        content.receipt_to or "",
    ]
    if any("\r" in value or "\n" in value for value in values):
        raise Invalid("Header names and values must not contain line breaks.", expression="headers")
    clash = sorted(name for name in content.headers if name.lower() in _RESERVED)
    if clash:
        raise Invalid(
            "These headers are set by the message builder and cannot be given: "
            f"{', '.join(clash)}.",
            expression="headers",
        )


def parse_message(data: bytes) -> MessageContent:
    """The typed value of a MIME entity, as a client shows it after decrypting and verifying."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage):
        raise Invalid("The data is not a MIME message.")
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = [
        Attachment(
            filename=part.get_filename() or "attachment",
            media_type=part.get_content_type(),
            data=_payload(part),
        )
        for part in message.iter_attachments()
    ]
    headers = {name: str(value) for name, value in message.items() if name.lower() not in _RESERVED}
    return MessageContent(
        subject=str(message.get("Subject", "")),
        text=_text(plain),
        html=_text(html) if html is not None else None,
        attachments=attachments,
        headers=headers,
        cda_code=_optional(message.get(CDA_CODE_HEADER)),
        receipt_to=_optional(message.get(RECEIPT_HEADER)),
    )


def _text(part: object) -> str:
    if not isinstance(part, EmailMessage):
        return ""
    text = part.get_content()
    return str(text).replace("\r\n", "\n")


def _payload(part: EmailMessage) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _optional(value: object) -> str | None:
    return None if value is None else str(value)
