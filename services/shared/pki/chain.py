"""Decide whether a signer's certificate chains to a trusted certificate at a given time.

The path is built and checked by ``cryptography.x509.verification`` (RFC 5280 with the Web PKI's
rules for authorities: basicConstraints cA and pathLenConstraint, keyCertSign, validity, accepted
signature algorithms and key sizes, name constraints), with the purpose set to e-mail protection:
the signer's certificate must carry it in its extended key usage, and an authority that restricts
its own extended key usage must allow it. Then every certificate of the path is checked against
the revocations this process knows (the administrator's CRLs, the directory's revocations).
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.shared.errors import Invalid

from .certs import check_purpose, key_usage_names
from .errors import UntrustedSigner
from .revocation import Revocations, current

MAX_DEPTH = 8
MAX_INTERMEDIATES = 32  # certificates a signed message may bring along to build its path


def check_signer_trusted(
    signer: x509.Certificate,
    intermediates: list[x509.Certificate],
    trusted: list[x509.Certificate],
    at: datetime,
    *,
    revocations: Revocations | None = None,
) -> None:
    """Raise ``UntrustedSigner`` unless ``signer`` leads to one of ``trusted``.

    A trusted list may hold CA certificates or, to pin, the signer's own certificate.
    """
    _check_time(signer, at)
    usage = key_usage_names(signer)
    if usage is not None and not usage & {"digital_signature", "content_commitment"}:
        raise UntrustedSigner("The signer's certificate does not allow signing.")
    try:
        check_purpose(signer, "The signer's certificate's")
    except Invalid as error:
        raise UntrustedSigner(error.message) from None
    if not trusted:
        raise UntrustedSigner("The signer's certificate does not chain to a trusted authority.")
    path = _verified_path(signer, intermediates[:MAX_INTERMEDIATES], trusted, at)
    _check_revocations(path, revocations if revocations is not None else current())


def _verified_path(
    signer: x509.Certificate,
    intermediates: list[x509.Certificate],
    trusted: list[x509.Certificate],
    at: datetime,
) -> list[x509.Certificate]:
    others = [cert for cert in intermediates if cert != signer]
    try:
        verified = _policy(trusted, at).build_client_verifier().verify(signer, others)
    except (verification.VerificationError, ValueError, TypeError):
        # The library's reason quotes subjects: it is not repeated to the caller.
        raise UntrustedSigner(
            "The signer's certificate does not chain to a trusted authority."
        ) from None
    return list(verified.chain)


def _policy(trusted: list[x509.Certificate], at: datetime) -> verification.PolicyBuilder:
    criticality = verification.Criticality.AGNOSTIC
    ca_policy = verification.ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, criticality, _authority_allows_email
    )
    ee_policy = verification.ExtensionPolicy.permit_all().require_present(
        x509.ExtendedKeyUsage, criticality, _signer_is_for_email
    )
    return (
        verification.PolicyBuilder()
        .store(verification.Store(trusted))
        .time(at)
        .max_chain_depth(MAX_DEPTH)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
    )


def _signer_is_for_email(
    policy: verification.Policy, cert: x509.Certificate, usage: x509.ExtendedKeyUsage | None
) -> None:
    if usage is None or ExtendedKeyUsageOID.EMAIL_PROTECTION not in usage:
        raise ValueError("extended key usage without e-mail protection")


def _authority_allows_email(
    policy: verification.Policy, cert: x509.Certificate, usage: x509.ExtendedKeyUsage | None
) -> None:
    if usage is None:
        return  # an authority without extended key usage does not restrict its subordinates
    if not {ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE} & set(usage):
        raise ValueError("an authority restricted to other purposes than e-mail protection")


def _check_revocations(path: list[x509.Certificate], revocations: Revocations) -> None:
    for position, cert in enumerate(path[:-1] if len(path) > 1 else path):
        issuer = path[position + 1] if position + 1 < len(path) else None
        reason = revocations.reason(cert, issuer)
        if reason is None:
            continue
        if position == 0:
            raise UntrustedSigner(f"The signer's certificate was {reason}.")
        raise UntrustedSigner(f"An authority above the signer's certificate was {reason}.")


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _check_time(cert: x509.Certificate, at: datetime) -> None:
    if not _valid_at(cert, at):
        raise UntrustedSigner("The signer's certificate was not valid at the time of verification.")
