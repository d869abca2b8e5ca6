"""Decide whether a signer's certificate chains to a trusted certificate at a given time."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from .certs import key_usage_names
from .errors import UntrustedSigner

MAX_DEPTH = 8


def check_signer_trusted(
    signer: x509.Certificate,
    intermediates: list[x509.Certificate],
    trusted: list[x509.Certificate],
    at: datetime,
) -> None:
    """Raise ``UntrustedSigner`` unless ``signer`` leads to one of ``trusted``.

    A trusted list may hold CA certificates or, to pin, the signer's own certificate.
    """
    _check_time(signer, at)
    usage = key_usage_names(signer)
    if usage is not None and not usage & {"digital_signature", "content_commitment"}:
        raise UntrustedSigner("The signer's certificate does not allow signing.")
    anchors = {cert.fingerprint(hashes.SHA256()): cert for cert in trusted}
    if not _reaches_anchor(signer, intermediates, anchors, at, depth=0):
        raise UntrustedSigner("The signer's certificate does not chain to a trusted authority.")


def _reaches_anchor(
    cert: x509.Certificate,
    intermediates: list[x509.Certificate],
    anchors: dict[bytes, x509.Certificate],
    at: datetime,
    depth: int,
) -> bool:
    if cert.fingerprint(hashes.SHA256()) in anchors:
        return True
    if depth >= MAX_DEPTH:
        return False
    candidates = [*anchors.values(), *intermediates]
    for issuer in candidates:
        if issuer.subject != cert.issuer or issuer == cert or not _is_ca(issuer):
            continue
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            continue
        if not _valid_at(issuer, at):
            continue
        if issuer.fingerprint(hashes.SHA256()) in anchors:
            return True
        if _reaches_anchor(issuer, intermediates, anchors, at, depth + 1):
            return True
    return False


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    usage = key_usage_names(cert)
    return constraints.ca and (usage is None or "key_cert_sign" in usage)


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _check_time(cert: x509.Certificate, at: datetime) -> None:
    if not _valid_at(cert, at):
        raise UntrustedSigner("The signer's certificate was not valid at the time of verification.")
