"""EnvelopedData assembled as DER by hand: the same bytes as ``enveloping.encrypt(form="der")``, faster.

asn1crypto re-encodes every nested value on ``dump()`` (about 1.5 ms per RSA recipient); on the
submission path the constant parts are encoded once and the recipient identifiers once per certificate.
"""

from __future__ import annotations

import functools
import os

from asn1crypto import algos, cms
from cryptography import x509
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.shared.errors import Invalid

from . import ecdh, identifiers
from .certs import ACCEPTED_CURVES
from .enveloping import oaep

_ENVELOPED_DATA = bytes.fromhex("06092a864886f70d010703")
_DATA = bytes.fromhex("06092a864886f70d010701")
_AES256_CBC = bytes.fromhex("060960864801650304012a")  # 2.16.840.1.101.3.4.1.42
_OAEP = oaep("sha256", "sha256", b"")


def tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    if size < 0x100:
        return bytes((tag, 0x81, size)) + content
    if size < 0x10000:
        return bytes((tag, 0x82, size >> 8, size & 0xFF)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


@functools.cache
def _oaep_algorithm() -> bytes:
    params = algos.RSAESOAEPParams({
        "hash_algorithm": {"algorithm": "sha256"},
        "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
    })
    return bytes(cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_oaep", "parameters": params}).dump())


@functools.lru_cache(maxsize=4096)
def _issuer_and_serial(cert: x509.Certificate) -> bytes:
    return bytes(identifiers.issuer_and_serial(cert).dump())


@functools.lru_cache(maxsize=4096)  # keyed by the certificate's DER: its fingerprint, in effect
def _recipient(cert: x509.Certificate) -> tuple[rsa.RSAPublicKey | None, bytes]:
    """Per certificate, once: its RSA public key and the RecipientInfo's constant head (version,
    issuerAndSerialNumber, RSAES-OAEP parameters); (None, b"") for an EC key (key agreement)."""
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return public, b"\x02\x01\x00" + _issuer_and_serial(cert) + _oaep_algorithm()
    if isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name in ACCEPTED_CURVES:
        return None, b""
    raise Invalid(
        "A recipient certificate has a key that cannot receive messages (RSA or EC P-256/P-384 only)."
    )


def _recipient_info(cert: x509.Certificate, cek: bytes) -> tuple[bytes, bool]:
    """The RecipientInfo's DER, and whether it is a version-0 (key transport) one."""
    public, head = _recipient(cert)
    if public is not None:
        return tlv(0x30, head + tlv(0x04, public.encrypt(cek, _OAEP))), True
    return bytes(ecdh.key_agree_recipient(cert, cek).dump()), False


def encrypt_der(content: bytes, recipients: list[x509.Certificate]) -> bytes:
    """CMS EnvelopedData (DER): AES-256-CBC content, RSA-OAEP-SHA256 or ECDH key per recipient."""
    if not recipients:
        raise Invalid("At least one recipient certificate is required to encrypt a message.")
    cek, iv = os.urandom(32), os.urandom(16)
    infos = [_recipient_info(cert, cek) for cert in recipients]
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES256(cek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(content) + padder.finalize()) + encryptor.finalize()
    version = b"\x02\x01\x00" if all(v0 for _, v0 in infos) else b"\x02\x01\x02"
    encrypted = tlv(0x30, _DATA + tlv(0x30, _AES256_CBC + tlv(0x04, iv)) + tlv(0x80, ciphertext))
    recipient_set = tlv(0x31, b"".join(sorted(der for der, _ in infos)))
    enveloped = tlv(0x30, version + recipient_set + encrypted)
    return tlv(0x30, _ENVELOPED_DATA + tlv(0xA0, enveloped))
