"""S/MIME framing (RFC 8551 §3): wrap CMS DER in MIME entities and unwrap DER, PEM or S/MIME."""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import re
import secrets
from dataclasses import dataclass

from .errors import MalformedMessage

SIGNED_DATA = "signed-data"
ENVELOPED_DATA = "enveloped-data"
_CRLF = b"\r\n"
_PKCS7_MIME = {"application/pkcs7-mime", "application/x-pkcs7-mime"}
_PKCS7_SIGNATURE = {"application/pkcs7-signature", "application/x-pkcs7-signature"}
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_PEM = re.compile(rb"-----BEGIN (?:CMS|PKCS7)-----(.*?)-----END (?:CMS|PKCS7)-----", re.DOTALL)


@dataclass(frozen=True)
class Unwrapped:
    """A CMS structure in DER and, for multipart/signed, the detached content it signs."""

    der: bytes
    detached_content: bytes | None = None


def base64_lines(data: bytes) -> bytes:
    """base64 in CRLF-ended 76-character lines (RFC 2045's limit): ``encodebytes`` with CRLF, in fewer steps."""
    if not data:
        return b""
    encoded = binascii.b2a_base64(data, newline=False)
    size = len(encoded)  # the lines are sliced in C: map over slice objects, no Python loop body
    return _CRLF.join(map(encoded.__getitem__, map(slice, range(0, size, 76), range(76, size + 76, 76)))) + _CRLF


_base64_lines = base64_lines


def wrap_pkcs7_mime(der: bytes, smime_type: str) -> bytes:
    """An ``application/pkcs7-mime`` entity with CRLF line ends, as mail transport wants."""
    head = [
        b"MIME-Version: 1.0",
        b'Content-Disposition: attachment; filename="smime.p7m"',
        b'Content-Type: application/pkcs7-mime; smime-type=%s; name="smime.p7m"'
        % smime_type.encode(),
        b"Content-Transfer-Encoding: base64",
    ]
    return _CRLF.join(head) + _CRLF + _CRLF + _base64_lines(der)


def wrap_multipart_signed(content: bytes, signature_der: bytes, micalg: str = "sha-256") -> bytes:
    """A ``multipart/signed`` entity whose first part is ``content``, byte for byte."""
    boundary = b"----=_smime_" + secrets.token_hex(16).encode()
    while boundary in content:  # practically never; a collision would cut the content
        boundary = b"----=_smime_" + secrets.token_hex(16).encode()
    head = (
        b"MIME-Version: 1.0"
        + _CRLF
        + b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
        + b'micalg="%s"; boundary="%s"' % (micalg.encode(), boundary)
        + _CRLF
        + _CRLF
        + b"This is an S/MIME signed message"
        + _CRLF
    )
    signature_part = (
        b'Content-Type: application/pkcs7-signature; name="smime.p7s"'
        + _CRLF
        + b"Content-Transfer-Encoding: base64"
        + _CRLF
        + b'Content-Disposition: attachment; filename="smime.p7s"'
        + _CRLF
        + _CRLF
        + _base64_lines(signature_der)
    )
    delimiter = b"--" + boundary
    return (
        head
        + delimiter
        + _CRLF
        + content
        + _CRLF
        + delimiter
        + _CRLF
        + signature_part
        + _CRLF
        + delimiter
        + b"--"
        + _CRLF
    )


def unwrap(data: bytes) -> Unwrapped:
    """Find the CMS DER in ``data``, whether DER, PEM or an S/MIME entity."""
    stripped = data.lstrip()
    if stripped[:1] == b"\x30":
        return Unwrapped(bytes(data))
    pem = _PEM.search(stripped) if stripped.startswith(b"-----") else None
    if pem is not None:
        return Unwrapped(_decode_base64(pem.group(1)))
    return _unwrap_entity(stripped)


def _decode_base64(text: bytes) -> bytes:
    try:
        return base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedMessage("The S/MIME body is not valid base64.") from None


def _split_entity(data: bytes) -> tuple[email.message.Message, bytes]:
    end = _HEAD_END.search(data)
    if end is None:
        raise MalformedMessage("The data is neither CMS nor an S/MIME entity.")
    headers = email.message_from_bytes(data[: end.start()] + b"\n\n", policy=email.policy.compat32)
    return headers, data[end.end() :]


def _entity_der(headers: email.message.Message, body: bytes) -> bytes:
    encoding = (headers.get("Content-Transfer-Encoding") or "").strip().lower()
    return body if encoding == "binary" else _decode_base64(body)


def _unwrap_entity(data: bytes) -> Unwrapped:
    headers, body = _split_entity(data)
    media_type = headers.get_content_type()
    if media_type in _PKCS7_MIME:
        return Unwrapped(_entity_der(headers, body))
    if media_type == "multipart/signed":
        boundary = headers.get_param("boundary")
        if not isinstance(boundary, str) or not boundary:
            raise MalformedMessage("The multipart/signed entity has no boundary.")
        parts = _split_multipart(body, boundary.encode())
        if len(parts) != 2:
            raise MalformedMessage("A multipart/signed entity must have exactly two parts.")
        signature_headers, signature_body = _split_entity(parts[1])
        if signature_headers.get_content_type() not in _PKCS7_SIGNATURE:
            raise MalformedMessage("The second part of multipart/signed is not a CMS signature.")
        return Unwrapped(_entity_der(signature_headers, signature_body), parts[0])
    raise MalformedMessage("The entity is not S/MIME (expected pkcs7-mime or multipart/signed).")


def _split_multipart(body: bytes, boundary: bytes) -> list[bytes]:
    # RFC 2046 §5.1.1: the line break before a delimiter belongs to the delimiter,
    # so a part ends right before it; keeping that exact span is what was signed.
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r?\n|$)")
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : match.start()])
        if match.group(1):
            return parts
        start = match.end()
    raise MalformedMessage("The multipart/signed entity is not closed by its boundary.")
