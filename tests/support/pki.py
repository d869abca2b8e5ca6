"""Throwaway CAs, end-entity certificates and CRLs for tests and benchmarks only (never imported by services)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.shared.pki.certs import PrivateKey
from services.shared.pki.dev import usage_flags

KeyKind = Literal["rsa", "ec"]
_CURVES: dict[str, ec.EllipticCurve] = {
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
}


@dataclass(frozen=True)
class Identity:
    """A certificate with its private key (and the CA that issued it, if any)."""

    cert: x509.Certificate
    key: PrivateKey
    issuer: Identity | None = None

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``<stem>.pem`` and ``<stem>.key`` (for ``openssl``, for instance)."""
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert_path.write_bytes(self.cert_pem)
        key_path.write_bytes(self.key_pem)
        return cert_path, key_path


@functools.cache
def cached_key(kind: KeyKind, label: str, size: int = 2048, curve: str = "secp256r1") -> PrivateKey:
    """One key per (kind, label, size, curve) per process: RSA key generation is slow."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    return ec.generate_private_key(_CURVES[curve])


def make_ca(
    name: str = "Maillage Test CA",
    *,
    kind: KeyKind = "rsa",
    now: datetime | None = None,
    issuer: Identity | None = None,
    path_length: int | None = None,
    ca: bool = True,
    key_usage: x509.KeyUsage | None = None,
    extended_key_usage: Sequence[x509.ObjectIdentifier] | None = None,
    not_after: datetime | None = None,
) -> Identity:
    """A root CA, or an intermediate one when ``issuer`` is given; the other options make faulty ones."""
    now = now or datetime.now(UTC)
    key = cached_key(kind, f"ca:{name}")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Maillage (test)"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    signer_key = issuer.key if issuer is not None else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(key_usage or usage_flags(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if extended_key_usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(extended_key_usage)), critical=False)
    return Identity(builder.sign(signer_key, hashes.SHA256()), key, issuer)


def make_crl(
    ca: Identity,
    revoked: Iterable[x509.Certificate] = (),
    *,
    signer: Identity | None = None,
    last_update: datetime | None = None,
    next_update: datetime | None = None,
) -> x509.CertificateRevocationList:
    """A CRL of ``ca`` listing ``revoked``; ``signer`` other than ``ca`` forges one under its name."""
    now = datetime.now(UTC)
    signing = signer or ca
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(last_update or now - timedelta(hours=1))
        .next_update(next_update or now + timedelta(days=7))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing.key.public_key()), critical=False
        )
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now - timedelta(minutes=5))
            .build()
        )
    return builder.sign(signing.key, hashes.SHA256())


def make_identity(
    ca: Identity,
    name: str,
    *,
    kind: KeyKind = "rsa",
    email: str | None = None,
    key_size: int = 2048,
    curve: str = "secp256r1",
    key_usage: x509.KeyUsage | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    extended_key_usage: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.EMAIL_PROTECTION,),
    more_emails: Sequence[str] = (),
    subject_email: str | None = None,
) -> Identity:
    """An end-entity certificate for ``name``, fit for S/MIME signing and encryption by default.

    ``extended_key_usage=None`` leaves the extension out. ``email`` is its first subjectAltName rfc822Name
    (``""``: no subjectAltName at all), ``more_emails`` further ones written as given, unchecked (hostile
    names for tests), ``subject_email`` a subject emailAddress attribute (UTF8String, any text).
    """
    now = datetime.now(UTC)
    key = cached_key(kind, name, key_size, curve)
    if email is None:
        email = f"{name.lower().replace(' ', '.')}@test.mssante.fr"
    subject = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if subject_email is not None:
        subject.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject_email, _type=_ASN1Type.UTF8String))
    alt_names = [x509.RFC822Name(email)] if email else []
    alt_names += [x509.RFC822Name._init_without_validation(extra) for extra in more_emails]
    if key_usage is None:
        key_usage = usage_flags(
            digital_signature=True, key_encipherment=kind == "rsa", key_agreement=kind == "ec"
        )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(hours=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    if extended_key_usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(extended_key_usage)), critical=False)
    return Identity(builder.sign(ca.key, hashes.SHA256()), key, ca)
