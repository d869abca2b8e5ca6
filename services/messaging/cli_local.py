"""What `maillage mail` does on the user's machine: build, sign and encrypt, or decrypt and verify."""
from __future__ import annotations

import base64
import mimetypes
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from cryptography import x509

from services.messaging.crypto.mime import Attachment, MessageContent, build_message, parse_message
from services.shared.pki.certs import PrivateKey, load_certificate, load_certificates, load_private_key
from services.shared.pki.cms import decrypt, encrypt, sign, verify
from services.shared.pki.errors import UntrustedSigner

TYPES = {".pdf": "application/pdf", ".xml": "text/xml", ".json": "application/fhir+json", ".zip": "application/zip"}


@dataclass(frozen=True)
class Opened:
    content: MessageContent
    signer: str
    trusted: bool


def load_identity(key: Path, cert: Path) -> tuple[x509.Certificate, PrivateKey]:
    return load_certificate(cert.read_bytes()), load_private_key(key.read_bytes())


def attachment(path: Path) -> Attachment:
    media_type = TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Attachment(path.name, media_type, path.read_bytes())


def attachments_json(paths: list[Path]) -> list[dict[str, str]]:
    return [{"filename": a.filename, "content_type": a.media_type, "data": base64.b64encode(a.data).decode()}
            for a in map(attachment, paths)]


def signed_mime(sender: str, to: list[str], cc: list[str], subject: str, text: str, files: list[Path],
                identity: tuple[x509.Certificate, PrivateKey], receipt: bool) -> bytes:
    headers = {"From": sender, "To": ", ".join(to), "Date": format_datetime(datetime.now(UTC)),
               "Message-ID": f"<{uuid.uuid4()}@{sender.rpartition('@')[2]}>"}
    if cc:
        headers["Cc"] = ", ".join(cc)
    mime = build_message(MessageContent(subject=subject, text=text, attachments=[attachment(f) for f in files],
                                        headers=headers, receipt_to=sender if receipt else None))
    return sign(mime, identity[0], identity[1])


def sealed_for(signed: bytes, recipients: list[bytes]) -> bytes:
    return encrypt(signed, [load_certificate(pem) for pem in recipients])


def open_message(ciphertext_b64: str, identity: tuple[x509.Certificate, PrivateKey], trust: list[bytes]) -> Opened:
    """Decrypt with the user's key; verify the signature, and say whether its signer is trusted."""
    inner = decrypt(base64.b64decode(ciphertext_b64), identity[0], identity[1])
    anchors = [cert for pem in trust for cert in load_certificates(pem)]
    try:
        verified, trusted = verify(inner, anchors), True
    except UntrustedSigner:
        verified, trusted = verify(inner), False  # intact, but from an authority the user did not name
    signer = verified.signer_cert.subject.rfc4514_string()
    return Opened(parse_message(verified.content), signer, trusted)
