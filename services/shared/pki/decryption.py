"""Open CMS EnvelopedData addressed to a certificate: RSA (OAEP or PKCS#1 v1.5) or ECDH, AES-CBC."""

from __future__ import annotations

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.shared.errors import Invalid

from . import ecdh, identifiers
from .certs import PrivateKey, key_matches
from .enveloping import oaep
from .errors import MalformedMessage, NotForRecipient, Undecryptable
from .smime import unwrap

_AES_CBC_KEY_BYTES = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}
_FAILED = "The message could not be decrypted: it was altered, or the key does not fit."


def decrypt(enveloped: bytes, cert: x509.Certificate, key: PrivateKey) -> bytes:
    """The content of an S/MIME, PEM or DER EnvelopedData addressed to ``cert``."""
    if not key_matches(cert, key):
        raise Invalid("The private key does not belong to the certificate.")
    envelope = _load_enveloped_data(unwrap(enveloped).der)
    cek: bytes | None = None
    for info in envelope["recipient_infos"]:
        if info.name == "ktri" and identifiers.matches(cert, info.chosen["rid"].chosen):
            cek = _unwrap_key_transport(info.chosen, key)
        elif info.name == "kari":
            cek = ecdh.unwrap_key_agree(info.chosen, cert, key)
        if cek is not None:
            break
    if cek is None:
        raise NotForRecipient("The message is not encrypted for this certificate.")
    return _decrypt_content(envelope["encrypted_content_info"], cek)


def _load_enveloped_data(der: bytes) -> cms.EnvelopedData:
    try:
        info = cms.ContentInfo.load(der)
        kind = info["content_type"].native
        if kind == "authenticated_enveloped_data":
            raise MalformedMessage(
                "AES-GCM (AuthEnvelopedData) messages are not supported; use AES-CBC."
            )
        if kind != "enveloped_data":
            raise MalformedMessage("The CMS structure is not EnvelopedData.")
        envelope = info["content"]
        _ = envelope["recipient_infos"].native  # parse eagerly so broken DER fails here
    except (ValueError, TypeError, KeyError):
        raise MalformedMessage(
            "The encrypted message is not a valid CMS EnvelopedData structure."
        ) from None
    return envelope


def _unwrap_key_transport(info: cms.KeyTransRecipientInfo, key: PrivateKey) -> bytes:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise Undecryptable("The message uses RSA key transport, which needs an RSA key.")
    algorithm = info["key_encryption_algorithm"]
    name = algorithm["algorithm"].native
    try:
        if name == "rsaes_pkcs1v15":
            scheme: asym_padding.AsymmetricPadding = asym_padding.PKCS1v15()
        elif name == "rsaes_oaep":
            params = algorithm["parameters"]
            scheme = oaep(
                params["hash_algorithm"]["algorithm"].native,
                params["mask_gen_algorithm"]["parameters"]["algorithm"].native,
                params["p_source_algorithm"]["parameters"].native or b"",
            )
        else:
            raise Undecryptable("The message uses a key transport algorithm that is not supported.")
        # With PKCS#1 v1.5 OpenSSL answers a bad block with a random key (implicit
        # rejection), so a wrong key surfaces later as bad padding: one error for both.
        return key.decrypt(info["encrypted_key"].native, scheme)
    except (ValueError, KeyError):
        raise Undecryptable(_FAILED) from None


def _decrypt_content(info: cms.EncryptedContentInfo, cek: bytes) -> bytes:
    algorithm = info["content_encryption_algorithm"]
    size = _AES_CBC_KEY_BYTES.get(algorithm["algorithm"].native)
    if size is None:
        raise Undecryptable(
            "The message uses a content cipher that is not accepted (AES-CBC only)."
        )
    ciphertext, iv = info["encrypted_content"].native, algorithm["parameters"].native
    if ciphertext is None:
        raise MalformedMessage("The encrypted message carries no content.")
    if len(cek) != size or not isinstance(iv, bytes) or len(iv) != 16 or len(ciphertext) % 16:
        raise Undecryptable(_FAILED)
    decryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise Undecryptable(_FAILED) from None
