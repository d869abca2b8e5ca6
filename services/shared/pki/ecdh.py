"""ECDH recipients of CMS EnvelopedData (RFC 5753): ephemeral-static ECDH, X9.63 KDF, AES wrap."""

from __future__ import annotations

import struct
from typing import ClassVar

from asn1crypto import cms, core, keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from . import identifiers
from .certs import PrivateKey
from .errors import Undecryptable

# dhSinglePass-stdDH-* and -cofactorDH-* schemes; for P-256/P-384 the cofactor is 1,
# so both families compute the same secret and only the KDF hash differs.
_SCHEMES: dict[str, type[hashes.HashAlgorithm]] = {
    "1.3.133.16.840.63.0.2": hashes.SHA1,
    "1.3.133.16.840.63.0.3": hashes.SHA1,
    "1.3.132.1.11.0": hashes.SHA224,
    "1.3.132.1.14.0": hashes.SHA224,
    "1.3.132.1.11.1": hashes.SHA256,
    "1.3.132.1.14.1": hashes.SHA256,
    "1.3.132.1.11.2": hashes.SHA384,
    "1.3.132.1.14.2": hashes.SHA384,
    "1.3.132.1.11.3": hashes.SHA512,
    "1.3.132.1.14.3": hashes.SHA512,
}
_SCHEME_FOR_CURVE = {"secp256r1": "1.3.132.1.11.1", "secp384r1": "1.3.132.1.11.2"}
_WRAP_KEY_BYTES = {"aes128_wrap": 16, "aes192_wrap": 24, "aes256_wrap": 32}
_FAILED = "The message could not be decrypted: it was altered, or the key does not fit."


class _SharedInfo(core.Sequence):
    """ECC-CMS-SharedInfo (RFC 5753 §7.2), the KDF's context."""

    _fields: ClassVar[list[tuple[object, ...]]] = [
        ("key_info", cms.KeyEncryptionAlgorithm),
        ("entity_u_info", core.OctetString, {"explicit": 0, "optional": True}),
        ("supp_pub_info", core.OctetString, {"explicit": 2}),
    ]


def _kek(
    secret: bytes,
    wrap: cms.KeyEncryptionAlgorithm,
    ukm: bytes | None,
    hash_class: type[hashes.HashAlgorithm],
    size: int,
) -> bytes:
    info = {"key_info": wrap, "supp_pub_info": struct.pack(">I", size * 8)}
    if ukm is not None:
        info["entity_u_info"] = ukm
    shared_info = _SharedInfo(info).dump()
    return X963KDF(algorithm=hash_class(), length=size, sharedinfo=shared_info).derive(secret)


def key_agree_recipient(cert: x509.Certificate, cek: bytes) -> cms.RecipientInfo:
    """A KeyAgreeRecipientInfo wrapping ``cek`` for an EC certificate, with AES-256 key wrap."""
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    ephemeral = ec.generate_private_key(public.curve)
    scheme = _SCHEME_FOR_CURVE[public.curve.name]
    wrap = cms.KeyEncryptionAlgorithm({"algorithm": "aes256_wrap"})
    kek = _kek(ephemeral.exchange(ec.ECDH(), public), wrap, None, _SCHEMES[scheme], 32)
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    originator = keys.PublicKeyInfo({"algorithm": {"algorithm": "ec"}, "public_key": point})
    rid = cms.KeyAgreementRecipientIdentifier(
        name="issuer_and_serial_number", value=identifiers.issuer_and_serial(cert)
    )
    return cms.RecipientInfo(
        name="kari",
        value=cms.KeyAgreeRecipientInfo(
            {
                "version": "v3",
                "originator": cms.OriginatorIdentifierOrKey(
                    name="originator_key", value=originator
                ),
                "key_encryption_algorithm": {"algorithm": scheme, "parameters": wrap},
                "recipient_encrypted_keys": [
                    {"rid": rid, "encrypted_key": keywrap.aes_key_wrap(kek, cek)}
                ],
            }
        ),
    )


def unwrap_key_agree(
    kari: cms.KeyAgreeRecipientInfo, cert: x509.Certificate, key: PrivateKey
) -> bytes | None:
    """The content key if ``kari`` holds one for ``cert``; None if it is for someone else."""
    encrypted = next(
        (
            rek["encrypted_key"].native
            for rek in kari["recipient_encrypted_keys"]
            if identifiers.matches(cert, rek["rid"].chosen)
        ),
        None,
    )
    if encrypted is None:
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise Undecryptable("The message uses key agreement, which needs an EC key.")
    algorithm = kari["key_encryption_algorithm"]
    hash_class = _SCHEMES.get(algorithm["algorithm"].dotted)
    if hash_class is None or kari["originator"].name != "originator_key":
        raise Undecryptable("The message uses a key agreement scheme that is not supported.")
    wrap = cms.KeyEncryptionAlgorithm.load(algorithm["parameters"].dump())
    size = _WRAP_KEY_BYTES.get(wrap["algorithm"].native)
    if size is None:
        raise Undecryptable("The message uses a key wrap algorithm that is not supported.")
    # The originator key's BIT STRING holds the X9.62 point after one "unused bits" byte.
    point = kari["originator"].chosen["public_key"].contents[1:]
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, point)
        ukm = kari["ukm"].native
        kek = _kek(key.exchange(ec.ECDH(), peer), wrap, ukm, hash_class, size)
        return keywrap.aes_key_unwrap(kek, encrypted)
    except (ValueError, keywrap.InvalidUnwrap):
        raise Undecryptable(_FAILED) from None
