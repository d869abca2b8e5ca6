"""CMS EnvelopedData (RFC 5652 §6): AES-256-CBC content, one RSA-OAEP or ECDH key per recipient."""

from __future__ import annotations

import base64
import os
from typing import Literal

from asn1crypto import algos, cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.shared.errors import Invalid

from . import ecdh, identifiers
from .certs import ACCEPTED_CURVES
from .smime import ENVELOPED_DATA, wrap_pkcs7_mime

Form = Literal["smime", "der", "pem"]
OAEP_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def encrypt(content: bytes, recipients: list[x509.Certificate], *, form: Form = "smime") -> bytes:
    """Encrypt ``content`` with AES-256-CBC for every certificate in ``recipients``.

    RSA recipients get RSAES-OAEP (SHA-256, MGF1-SHA-256); EC recipients (P-256,
    P-384) get ephemeral-static ECDH with AES-256 key wrap. The output is S/MIME
    (``application/pkcs7-mime; smime-type=enveloped-data``), DER or PEM.
    """
    if not recipients:
        raise Invalid("At least one recipient certificate is required to encrypt a message.")
    cek, iv = os.urandom(32), os.urandom(16)
    infos = [_recipient_info(cert, cek) for cert in recipients]
    padder = padding.PKCS7(128).padder()
    padded = padder.update(content) + padder.finalize()
    encryptor = Cipher(algorithms.AES256(cek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    # RFC 5652 §6.1: version 0 only when every RecipientInfo is a version 0 one.
    version = "v0" if all(info.name == "ktri" for info in infos) else "v2"
    der = cms.ContentInfo(
        {
            "content_type": "enveloped_data",
            "content": cms.EnvelopedData(
                {
                    "version": version,
                    "recipient_infos": infos,
                    "encrypted_content_info": {
                        "content_type": "data",
                        "content_encryption_algorithm": {
                            "algorithm": "aes256_cbc",
                            "parameters": iv,
                        },
                        "encrypted_content": ciphertext,
                    },
                }
            ),
        }
    ).dump()
    if form == "der":
        return der
    if form == "pem":
        body = base64.encodebytes(der).replace(b"\n", b"")
        lines = b"\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        return b"-----BEGIN CMS-----\n" + lines + b"\n-----END CMS-----\n"
    return wrap_pkcs7_mime(der, ENVELOPED_DATA)


def _recipient_info(cert: x509.Certificate, cek: bytes) -> cms.RecipientInfo:
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        params = algos.RSAESOAEPParams(
            {
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            }
        )
        # RFC 8551 §2.3 recommends RSAES-OAEP; SHA-256 for both hash and MGF1 (RFC 4055 §4).
        wrapped = public.encrypt(cek, oaep("sha256", "sha256", b""))
        return cms.RecipientInfo(
            name="ktri",
            value=cms.KeyTransRecipientInfo(
                {
                    "version": "v0",
                    "rid": cms.RecipientIdentifier(
                        name="issuer_and_serial_number", value=identifiers.issuer_and_serial(cert)
                    ),
                    "key_encryption_algorithm": {"algorithm": "rsaes_oaep", "parameters": params},
                    "encrypted_key": wrapped,
                }
            ),
        )
    if isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name in ACCEPTED_CURVES:
        return ecdh.key_agree_recipient(cert, cek)
    raise Invalid(
        "A recipient certificate has a key that cannot receive messages "
        "(RSA or EC P-256/P-384 only)."
    )


def oaep(hash_name: str, mgf_hash_name: str, label: bytes) -> asym_padding.OAEP:
    """OAEP padding from the hash names found in RSAES-OAEP-params."""
    return asym_padding.OAEP(
        mgf=asym_padding.MGF1(OAEP_HASHES[mgf_hash_name]()),
        algorithm=OAEP_HASHES[hash_name](),
        label=label or None,
    )
