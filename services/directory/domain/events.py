"""The events the directory publishes, built from its domain values (contracts: services.shared.contracts)."""
from __future__ import annotations

from datetime import datetime

from services.directory.domain.enrolment import Enrolment
from services.directory.domain.views import CertificateView
from services.shared.contracts.directory_events import (
    CertificatePublished,
    CertificateRevoked,
    EnrolmentCompleted,
    ProfessionalEnrolled,
)


def enrolled(enrolment: Enrolment, display_name: str) -> ProfessionalEnrolled:
    return ProfessionalEnrolled(
        enrolment_id=enrolment.id, rpps=enrolment.rpps, mailbox=enrolment.mailbox, display_name=display_name,
        enrolled_at=enrolment.enrolled_at, account_kit="held" if enrolment.kit_held else "sending")


def enrolment_completed(enrolment: Enrolment, display_name: str, certificate: CertificateView,
                        when: datetime) -> EnrolmentCompleted:
    return EnrolmentCompleted(
        enrolment_id=enrolment.id, rpps=enrolment.rpps, mailbox=enrolment.mailbox, display_name=display_name,
        certificate_fingerprint=certificate.fingerprint, completed_at=when)


def certificate_published(certificate: CertificateView, owners: tuple[str, ...]) -> CertificatePublished:
    return CertificatePublished(
        fingerprint=certificate.fingerprint, mailbox=certificate.mailbox,
        professional_idnps=certificate.professional_idnps, owners=tuple(sorted(owners)),
        not_after=certificate.not_after)


def certificate_revoked(certificate: CertificateView, owners: tuple[str, ...], when: datetime) -> CertificateRevoked:
    return CertificateRevoked(
        fingerprint=certificate.fingerprint, mailbox=certificate.mailbox,
        professional_idnps=certificate.professional_idnps, owners=tuple(sorted(owners)), revoked_at=when)
