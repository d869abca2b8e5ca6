"""Load certificates and keys, and check a certificate before it is accepted for messaging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.shared.errors import Invalid

from .revocation import Revocations, current

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Usage = Literal["encryption", "signature", "both"]
ACCEPTED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}
MIN_RSA_BITS = 2048
# Extended key usages that make a certificate fit for secure messaging (signing and encrypting
# mail). IGC-Santé's S/MIME, signature and confidentiality profiles are e-mail protection ones;
# add an OID here if an authority marks them otherwise.
MESSAGING_PURPOSES = frozenset({ExtendedKeyUsageOID.EMAIL_PROTECTION})
KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


@dataclass(frozen=True)
class CertificateFacts:
    """What the directory records about an accepted certificate."""

    not_before: datetime
    not_after: datetime
    key_type: str  # "RSA" or "EC"
    key_size: int
    key_usage: frozenset[str] | None  # None: no keyUsage extension, i.e. unrestricted (RFC 5280)
    subject: str
    fingerprint_sha256: str


def load_certificate(data: bytes) -> x509.Certificate:
    """One certificate, PEM or DER."""
    try:
        if data.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise Invalid("The file is not an X.509 certificate in PEM or DER.") from None


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """A PEM bundle (one or more certificates) or a single DER certificate."""
    if not data.lstrip().startswith(b"-----"):
        return [load_certificate(data)]
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise Invalid("The file is not a bundle of PEM certificates.") from None


def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    """An RSA or EC private key, PEM or DER (PKCS#8 or traditional)."""
    try:
        if data.lstrip().startswith(b"-----"):
            key = serialization.load_pem_private_key(data, password)
        else:
            key = serialization.load_der_private_key(data, password)
    except (ValueError, TypeError):
        raise Invalid(
            "The file is not a readable private key (or the password is wrong)."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise Invalid("Only RSA and EC private keys are supported.")
    return key


def key_matches(cert: x509.Certificate, key: PrivateKey) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)


def key_usage_names(cert: x509.Certificate) -> frozenset[str] | None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return frozenset(name for name in KEY_USAGE_NAMES if getattr(usage, name))


def extended_key_usage(cert: x509.Certificate) -> frozenset[x509.ObjectIdentifier] | None:
    try:
        return frozenset(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def check_certificate(
    cert: x509.Certificate,
    now: datetime,
    *,
    usage: Usage = "both",
    revocations: Revocations | None = None,
) -> CertificateFacts:
    """Facts about ``cert``, or ``Invalid`` saying in one sentence why it cannot be used.

    ``usage`` says what the certificate is for: receiving encrypted messages
    ("encryption"), signing them ("signature") or both. The certificate must be meant for
    e-mail protection (extended key usage) and not be revoked: by a CRL the administrator
    configured or by the directory (``revocations``; default: this process's).
    """
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < not_before:
        raise Invalid(f"The certificate is not valid before {not_before:%Y-%m-%d %H:%M} UTC.")
    if now > not_after:
        raise Invalid(f"The certificate expired on {not_after:%Y-%m-%d %H:%M} UTC.")
    key_type, key_size = _check_key(cert.public_key())
    if _is_ca(cert):
        raise Invalid(
            "This is a certification authority's certificate, not a person's or a service's."
        )
    names = key_usage_names(cert)
    if names is not None:
        _check_usage(names, key_type, usage)
    check_purpose(cert)
    _check_not_revoked(cert, revocations)
    return CertificateFacts(
        not_before=not_before,
        not_after=not_after,
        key_type=key_type,
        key_size=key_size,
        key_usage=names,
        subject=cert.subject.rfc4514_string(),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )


def _check_key(key: object) -> tuple[str, int]:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise Invalid(
                f"The certificate's RSA key has {key.key_size} bits; "
                f"at least {MIN_RSA_BITS} are required."
            )
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ACCEPTED_CURVES:
            raise Invalid(
                f"The certificate's elliptic curve {key.curve.name} is not accepted; "
                "use P-256 or P-384."
            )
        return "EC", key.curve.key_size
    raise Invalid(
        "The certificate's key type is not accepted; use RSA (2048 bits or more) or EC P-256/P-384."
    )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def check_purpose(cert: x509.Certificate, whose: str = "The certificate's") -> None:
    """The extended key usage must be present and name e-mail protection."""
    purposes = extended_key_usage(cert)
    if purposes is None or not purposes & MESSAGING_PURPOSES:
        raise Invalid(
            f"{whose} extended key usage does not include e-mail protection, "
            "which secure messaging requires."
        )


def _check_not_revoked(cert: x509.Certificate, revocations: Revocations | None) -> None:
    reason = (revocations if revocations is not None else current()).reason(cert)
    if reason is not None:
        raise Invalid(f"The certificate was {reason}.")


def _check_usage(names: frozenset[str], key_type: str, usage: Usage) -> None:
    if names & {"key_cert_sign", "crl_sign"}:
        raise Invalid(
            "The certificate's key usage allows signing certificates or CRLs, "
            "which only an authority's certificate may."
        )
    if usage in ("encryption", "both"):
        needed, label = (
            ("key_encipherment", "key encipherment")
            if key_type == "RSA"
            else ("key_agreement", "key agreement")
        )
        if needed not in names:
            raise Invalid(
                f"The certificate's key usage does not allow {label}, "
                "which encrypting messages to it requires."
            )
    if usage in ("signature", "both") and "digital_signature" not in names:
        raise Invalid(
            "The certificate's key usage does not allow digital signature, "
            "which signing messages requires."
        )
