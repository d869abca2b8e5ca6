"""CMS SignedData assembled as DER by hand for one signer whose certificate and key are fixed (the operator).

``signing.sign`` (cryptography's PKCS7SignatureBuilder) re-encodes the signer's certificate and
identifiers for every message; here they are encoded once per signer, and a message costs its
SHA-256, three signed attributes and one signature. The structure is RFC 5652 §5 (version 1,
issuerAndSerialNumber, SHA-256, signed attributes contentType, signingTime, messageDigest,
the certificate included), which ``openssl cms -verify`` and ``verification.verify`` read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from services.shared.errors import Invalid

from . import identifiers
from .certs import PrivateKey
from .envelope_der import tlv
from .smime import SIGNED_DATA, wrap_pkcs7_mime

_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_DATA = bytes.fromhex("06092a864886f70d010701")
_SHA256 = tlv(0x30, bytes.fromhex("0609608648016503040201"))
_ECDSA_SHA256 = tlv(0x30, bytes.fromhex("06082a8648ce3d040302"))
_RSA_SHA256 = tlv(0x30, bytes.fromhex("06092a864886f70d01010b0500"))
_CONTENT_TYPE = tlv(0x30, bytes.fromhex("06092a864886f70d010903") + tlv(0x31, _DATA))
_SIGNING_TIME = bytes.fromhex("06092a864886f70d010905")
_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")
_VERSION_1 = b"\x02\x01\x01"


def _time(moment: datetime) -> bytes:
    """RFC 5280 Time: UTCTime until 2049, GeneralizedTime from 2050."""
    if moment.year < 2050:
        return tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


class Signer:
    """Signs S/MIME SignedData (opaque, binary) with one certificate and its matching key."""

    def __init__(self, certificate: x509.Certificate, key: PrivateKey) -> None:
        self._sign: Callable[[bytes], bytes]
        if isinstance(key, ec.EllipticCurvePrivateKey):
            self._algorithm = _ECDSA_SHA256
            self._sign = lambda data: key.sign(data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPrivateKey):
            self._algorithm = _RSA_SHA256
            self._sign = lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise Invalid("The signing key must be RSA or EC.")
        self._sid = bytes(identifiers.issuer_and_serial(certificate).dump())
        self._certificates = tlv(0xA0, certificate.public_bytes(serialization.Encoding.DER))

    def signed_der(self, content: bytes, at: datetime | None = None) -> bytes:
        moment = (at or datetime.now(UTC)).astimezone(UTC)
        attributes = sorted([  # DER: a SET OF sorted by encoding
            _CONTENT_TYPE,
            tlv(0x30, _SIGNING_TIME + tlv(0x31, _time(moment))),
            tlv(0x30, _MESSAGE_DIGEST + tlv(0x31, tlv(0x04, hashlib.sha256(content).digest()))),
        ])
        signed_attributes = b"".join(attributes)
        signature = self._sign(tlv(0x31, signed_attributes))  # signed as a SET, stored as [0] IMPLICIT
        signer_info = tlv(0x30, _VERSION_1 + self._sid + _SHA256 + tlv(0xA0, signed_attributes)
                          + self._algorithm + tlv(0x04, signature))
        signed_data = tlv(0x30, _VERSION_1 + tlv(0x31, _SHA256)
                          + tlv(0x30, _DATA + tlv(0xA0, tlv(0x04, content)))
                          + self._certificates + tlv(0x31, signer_info))
        return tlv(0x30, _SIGNED_DATA + tlv(0xA0, signed_data))

    def sign(self, content: bytes) -> bytes:
        """``application/pkcs7-mime; smime-type=signed-data`` over the exact bytes of ``content``."""
        return wrap_pkcs7_mime(self.signed_der(content), SIGNED_DATA)
