"""Match certificates against CMS signer and recipient identifiers (RFC 5652 §5.3, §6.2)."""

from __future__ import annotations

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def from_asn1(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def issuer_and_serial(cert: x509.Certificate) -> cms.IssuerAndSerialNumber:
    parsed = to_asn1(cert)
    return cms.IssuerAndSerialNumber(
        {"issuer": parsed.issuer, "serial_number": parsed.serial_number}
    )


def matches(cert: x509.Certificate, identifier: object) -> bool:
    """Whether ``identifier`` (IssuerAndSerialNumber, SKI or RecipientKeyIdentifier) names cert."""
    parsed = to_asn1(cert)
    if isinstance(identifier, cms.IssuerAndSerialNumber):
        # asn1crypto compares Names after RFC 5280 normalisation, so a re-encoded
        # issuer (PrintableString vs UTF8String) still matches.
        return bool(
            identifier["issuer"] == parsed.issuer
            and identifier["serial_number"].native == parsed.serial_number
        )
    if isinstance(identifier, core.Sequence):
        # A RecipientKeyIdentifier: asn1crypto defines that class twice with different
        # field names, so take its first field (the subjectKeyIdentifier) by position.
        identifier = identifier[0]
    if hasattr(identifier, "native") and isinstance(identifier.native, bytes):
        return parsed.key_identifier is not None and parsed.key_identifier == identifier.native
    return False


def find(certs: list[x509.Certificate], identifier: object) -> x509.Certificate | None:
    return next((cert for cert in certs if matches(cert, identifier)), None)
