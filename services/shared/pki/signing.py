"""CMS SignedData (RFC 5652 §5) as S/MIME: sign with SHA-256, the signer certificate included."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from services.shared.errors import Invalid

from .certs import PrivateKey, key_matches
from .smime import SIGNED_DATA, wrap_multipart_signed, wrap_pkcs7_mime


def sign(
    content: bytes, signer_cert: x509.Certificate, signer_key: PrivateKey, *, detached: bool = False
) -> bytes:
    """S/MIME SignedData over ``content`` (SHA-256, signer certificate included).

    Opaque ``application/pkcs7-mime; smime-type=signed-data`` by default, or
    ``multipart/signed`` when ``detached``. The exact bytes are signed (binary
    mode): callers pass canonical CRLF MIME, as ``mime.build_message`` produces.
    """
    if not key_matches(signer_cert, signer_key):
        raise Invalid("The private key does not belong to the signer's certificate.")
    return sign_with_checked_key(content, signer_cert, signer_key, detached=detached)


def sign_with_checked_key(
    content: bytes, signer_cert: x509.Certificate, signer_key: PrivateKey, *, detached: bool = False
) -> bytes:
    """``sign`` for a key already known to match its certificate (the operator's, checked when loaded)."""
    options = [pkcs7.PKCS7Options.Binary]
    if detached:
        options.append(pkcs7.PKCS7Options.DetachedSignature)
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(signer_cert, signer_key, hashes.SHA256())
        .sign(serialization.Encoding.DER, options)
    )
    return wrap_multipart_signed(content, der) if detached else wrap_pkcs7_mime(der, SIGNED_DATA)
