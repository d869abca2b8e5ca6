"""Secure messages as CMS / S/MIME: sign, verify, encrypt, decrypt, and seal = sign then encrypt."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from .certs import (
    CertificateFacts,
    PrivateKey,
    check_certificate,
    load_certificate,
    load_certificates,
    load_private_key,
)
from .decryption import decrypt
from .enveloping import Form, encrypt
from .errors import BadSignature, MalformedMessage
from .signing import sign
from .verification import VerifiedContent, verify

__all__ = [
    "CertificateFacts",
    "Form",
    "PrivateKey",
    "VerifiedContent",
    "check_certificate",
    "decrypt",
    "encrypt",
    "load_certificate",
    "load_certificates",
    "load_private_key",
    "open_sealed",
    "seal",
    "sign",
    "verify",
]


def seal(
    content: bytes,
    sender_cert: x509.Certificate,
    sender_key: PrivateKey,
    recipients: list[x509.Certificate],
    *,
    detached: bool = False,
    form: Form = "smime",
) -> bytes:
    """Sign ``content`` as the sender, then encrypt the signed entity for every recipient.

    Add the sender to ``recipients`` to keep a readable copy in the sent folder.
    """
    return encrypt(sign(content, sender_cert, sender_key, detached=detached), recipients, form=form)


def open_sealed(
    blob: bytes,
    cert: x509.Certificate,
    key: PrivateKey,
    trusted: list[x509.Certificate] | None = None,
    *,
    at: datetime | None = None,
) -> VerifiedContent:
    """Decrypt with the recipient's key, then verify the sender's signature (see ``verify``)."""
    inner = decrypt(blob, cert, key)
    try:
        return verify(inner, trusted, at=at)
    except MalformedMessage:
        # AES-CBC has no integrity of its own: altered ciphertext decrypts to garbage
        # that is no longer S/MIME, which is tampering as much as a bad signature is.
        raise BadSignature(
            "The decrypted message is not a valid signed message: it was altered or never signed."
        ) from None
