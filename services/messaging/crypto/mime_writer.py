"""A lean writer of the same MIME entities as ``mime.build_message``, without the email header registry.

``email.message.EmailMessage`` parses and refolds every header it is given, which costs about a
millisecond per message; the submission path writes its entities directly. The structure is the
same (text/plain, multipart/alternative with HTML, multipart/mixed with attachments), CRLF and
7-bit, quoted-printable text and base64 attachments, and ``parse_message`` reads both alike.
"""

from __future__ import annotations

import binascii
import secrets
from email.header import Header
from email.utils import encode_rfc2231, quote

from services.shared.errors import Invalid
from services.shared.pki.smime import base64_lines

from .mime import CDA_CODE_HEADER, RECEIPT_HEADER, MessageContent, _check_headers
from .xdm import carries_cda

_CRLF = b"\r\n"
Part = tuple[list[bytes], bytes]  # header lines, encoded body


def write_message(content: MessageContent) -> bytes:
    """The MIME entity (CRLF, 7-bit) to sign: text, optional HTML alternative, attachments."""
    _check_headers(content)
    if content.cda_code is None and any(carries_cda(a.media_type, a.data) for a in content.attachments):
        raise Invalid(f"A CDA document is attached, so the {CDA_CODE_HEADER} header (its document code) "
                      "is required.", expression="cda_code")
    head = [b"MIME-Version: 1.0", _header("Subject", content.subject)]
    head += [_header(name, value) for name, value in content.headers.items()]
    if content.cda_code is not None:
        head.append(_header(CDA_CODE_HEADER, content.cda_code))
    if content.receipt_to is not None:
        head.append(_header(RECEIPT_HEADER, content.receipt_to))
    body = _text_part(content.text, "plain")
    if content.html is not None:
        body = _multipart("alternative", [body, _text_part(content.html, "html")])
    if content.attachments:
        files = [_attachment(a.filename, a.media_type, a.data) for a in content.attachments]
        body = _multipart("mixed", [body, *files])
    return _CRLF.join(head + body[0]) + _CRLF + _CRLF + body[1]


def _header(name: str, value: str) -> bytes:
    if value.isascii() and len(name) + len(value) < 76:
        return f"{name}: {value}".encode()
    if value.isascii() and "," in value:  # address lists: fold after each comma
        return f"{name}: {value.replace(', ', ',' + chr(13) + chr(10) + ' ')}".encode()
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=chr(13) + chr(10))}".encode()


def _text_part(text: str, subtype: str) -> Part:
    normalised = text.replace("\r\n", "\n")
    if not normalised.endswith("\n"):
        normalised += "\n"
    encoded = quoted_printable(normalised.encode("utf-8"))
    return [f'Content-Type: text/{subtype}; charset="utf-8"'.encode(),
            b"Content-Transfer-Encoding: quoted-printable"], encoded


# what ``b2a_qp`` writes as is: printable ASCII but "=", space, LF; tabs, CR and the rest go to b2a_qp
_QP_LITERAL = bytes(range(0x20, 0x3D)) + bytes(range(0x3E, 0x7F)) + b"\n"
_QP_MAX = 76  # binascii's MAXLINESIZE: a line is broken after 75 characters when more than 76 are left


def quoted_printable(data: bytes) -> bytes:
    """``b2a_qp(data, istext=True)`` with CRLF line ends, byte for byte, for ``data`` that ends with LF.

    Text with nothing to escape (printable ASCII but "=", no space before a line end, no lone "." on a
    line) only needs soft line breaks, cut here with slices (a third of b2a_qp's time); other text goes
    through ``b2a_qp``.
    """
    if data.translate(None, _QP_LITERAL) or not data.endswith(b"\n"):
        return _b2a_qp(data)
    out = []
    for line in data.split(b"\n"):
        size = len(line)
        if size <= _QP_MAX:
            if line.endswith(b" ") or line == b".":  # escaped by b2a_qp: =20 at a line end, a lone "." as =2E
                return _b2a_qp(data)
            out.append(line)
            continue
        full = -(-(size - _QP_MAX) // 75)  # 75-character pieces before a last one of at most 76
        last = line[75 * full:]
        if last.endswith(b" ") or last == b".":
            return _b2a_qp(data)
        out.append(b"=\r\n".join([line[i:i + 75] for i in range(0, 75 * full, 75)] + [last]))
    return _CRLF.join(out)


def _b2a_qp(data: bytes) -> bytes:
    return binascii.b2a_qp(data, istext=True).replace(b"\n", _CRLF)


def _attachment(filename: str, media_type: str, data: bytes) -> Part:
    maintype, _, subtype = media_type.partition("/")
    if not subtype:
        raise Invalid("An attachment's media type must look like 'type/subtype'.", expression="media_type")
    name = f'filename="{quote(filename)}"' if filename.isascii() else f"filename*={encode_rfc2231(filename, 'utf-8')}"
    return [f"Content-Type: {maintype}/{subtype}".encode(), b"Content-Transfer-Encoding: base64",
            f"Content-Disposition: attachment; {name}".encode()], base64_lines(data)


def _multipart(subtype: str, parts: list[Part]) -> Part:
    # "=_" never occurs in quoted-printable or base64 output, so the boundary cannot collide
    boundary = f"----=_Part_{secrets.token_hex(12)}".encode()
    body = b"".join(b"--" + boundary + _CRLF + _CRLF.join(head) + _CRLF + _CRLF + payload + _CRLF
                    for head, payload in parts)
    return [f'Content-Type: multipart/{subtype}; boundary="'.encode() + boundary + b'"'], \
        body + b"--" + boundary + b"--" + _CRLF
