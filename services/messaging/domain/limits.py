"""Size and count limits of a message, and the attachment types the platform accepts."""
from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from services.shared.errors import Invalid, TooLarge

MIB = 1024 * 1024
# what the HTTP entrypoint admits: base64 of 20 MiB of attachments (4/3) plus text, HTML and JSON framing
HTTP_MAX_BODY = 32 * MIB
PDF, XML, CDA = "application/pdf", "text/xml", "application/hl7-cda+xml"
FHIR, ZIP = "application/fhir+json", "application/zip"
ALLOWED_TYPES = {
    PDF: "PDF",
    XML: "CDA XML",
    "application/xml": "CDA XML",
    CDA: "CDA XML",
    FHIR: "FHIR JSON",
    "application/json": "FHIR JSON",
    ZIP: "IHE XDM zip",
}


@dataclass(frozen=True)
class Limits:
    max_recipients: int = 50
    max_attachments_bytes: int = 20 * MIB
    max_attachments: int = 100
    max_text_bytes: int = 1 * MIB
    max_html_bytes: int = 2 * MIB
    max_subject_chars: int = 998  # RFC 5322 line limit
    max_sealed_bytes: int = 28 * MIB  # a client-signed or client-encrypted message, whole


def check_recipient_count(count: int, limits: Limits) -> None:
    if count < 1:
        raise Invalid("A message needs at least one recipient in 'to' or 'cc'.", expression="to")
    if count > limits.max_recipients:
        raise Invalid(
            f"A message has at most {limits.max_recipients} recipients (to and cc together); this one has {count}.",
            expression="to",
        )


def check_text(text: str, html: str | None, subject: str, limits: Limits) -> None:
    if len(subject) > limits.max_subject_chars:
        raise Invalid(f"'subject' has more than {limits.max_subject_chars} characters.", expression="subject")
    if len(text.encode()) > limits.max_text_bytes:
        raise TooLarge(f"'body.text' is larger than {limits.max_text_bytes} bytes.", expression="body.text")
    if html is not None and len(html.encode()) > limits.max_html_bytes:
        raise TooLarge(f"'body.html' is larger than {limits.max_html_bytes} bytes.", expression="body.html")


def check_attachment_sizes(sizes: Sequence[int], limits: Limits) -> None:
    if len(sizes) > limits.max_attachments:
        raise Invalid(f"A message has at most {limits.max_attachments} attachments.", expression="attachments")
    total = sum(sizes)
    if total > limits.max_attachments_bytes:
        raise TooLarge(
            f"The attachments weigh {total} bytes together; the limit is {limits.max_attachments_bytes} bytes.",
            expression="attachments",
        )


def check_attachment(index: int, media_type: str, data: bytes) -> None:
    """The type must be allow-listed and the bytes must look like that type."""
    where = f"attachments[{index}]"
    kind = ALLOWED_TYPES.get(media_type.lower())
    if kind is None:
        accepted = ", ".join(sorted(ALLOWED_TYPES))
        raise Invalid(f"'{where}.content_type' is not accepted; use one of {accepted}.",
                      expression=f"{where}.content_type")
    if not data:
        raise Invalid(f"'{where}.data' is empty.", expression=f"{where}.data")
    if not _looks_like(kind, data):
        raise Invalid(f"'{where}.data' is not a {kind} document, as its content_type says.", expression=f"{where}.data")


def _looks_like(kind: str, data: bytes) -> bool:
    if kind == "PDF":
        return data[:5] == b"%PDF-"
    if kind == "CDA XML":
        return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"
    if kind == "FHIR JSON":
        return _is_fhir_json(data)
    return _is_xdm(data)


def _is_fhir_json(data: bytes) -> bool:
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("resourceType"), str)


def _is_xdm(data: bytes) -> bool:
    """An IHE XDM zip: read the central directory only, never inflate an entry (zip bombs)."""
    if data[:4] != b"PK\x03\x04":
        return False
    try:
        names = [info.filename.upper() for info in zipfile.ZipFile(io.BytesIO(data)).infolist()]
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return any(name.startswith("IHE_XDM/") and name.endswith("/METADATA.XML") for name in names)
