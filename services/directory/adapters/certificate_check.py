"""An uploaded PEM certificate, checked with the messaging crypto's rules, as a CertificateView."""
from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from services.directory.domain.errors import UnusableCertificate
from services.directory.domain.mailboxes import certificate_addresses
from services.directory.domain.views import CertificateView
from services.shared.errors import Invalid
from services.shared.pki.certs import CertificateFacts, check_certificate, load_certificate

MAX_PEM_CHARS = 20_000


def inspect(pem: str, now: datetime, *, mailbox: str | None, professional_idnps: str | None,
            field: str = "pem") -> CertificateView:
    """Parse and check a certificate for encryption to its owner.

    A text that is not one PEM certificate is ``Invalid`` (400); a certificate that cannot serve
    (expired, weak or unaccepted key, key usage without encipherment, a CA) is ``UnusableCertificate`` (422).
    """
    if "PRIVATE KEY" in pem:
        raise Invalid("Send the certificate only, never its private key.", expression=field)
    if len(pem) > MAX_PEM_CHARS or pem.count("BEGIN CERTIFICATE") != 1:
        raise Invalid("Send exactly one certificate in PEM (-----BEGIN CERTIFICATE-----).", expression=field)
    try:
        certificate = load_certificate(pem.encode())
    except (Invalid, ValueError):
        raise Invalid("The text is not a readable X.509 certificate in PEM.", expression=field) from None
    try:
        facts = check_certificate(certificate, now, usage="encryption")
    except Invalid as error:
        raise UnusableCertificate(error.message, expression=field) from None
    return _view(certificate, facts, mailbox, professional_idnps)


def _view(certificate: x509.Certificate, facts: CertificateFacts, mailbox: str | None,
          professional_idnps: str | None) -> CertificateView:
    usage = tuple(sorted(facts.key_usage)) if facts.key_usage is not None else ()  # () = unrestricted
    return CertificateView(
        fingerprint=facts.fingerprint_sha256, pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        subject=facts.subject, issuer=certificate.issuer.rfc4514_string(),
        serial=format(certificate.serial_number, "x"), not_before=facts.not_before, not_after=facts.not_after,
        key_usage=usage, revoked=False, revoked_at=None, mailbox=mailbox, professional_idnps=professional_idnps)


def named_addresses(view: CertificateView, field: str = "pem") -> tuple[str, ...]:
    """Every mail address the certificate names, normalised, or ``CertificateNamesUnfit`` (422).

    The subjectAltName rfc822Names, the subject's emailAddress attributes and any subject common name that
    is an address (it holds '@'): a mail client may show or match any of them.
    """
    certificate = x509.load_pem_x509_certificate(view.pem.encode())
    subject = certificate.subject
    names = [_text(a.value) for a in subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
    names += [name for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME) if "@" in (name := _text(a.value))]
    try:
        alternative = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += alternative.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        pass
    except ValueError:
        raise UnusableCertificate("The certificate's subject alternative names cannot be read.",
                                  expression=field) from None
    return certificate_addresses(names, field)


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("latin-1")
