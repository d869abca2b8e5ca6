"""The events the directory publishes (schemas/events/) and the data each one carries."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.directory.domain.enrolment import Enrolment
from services.directory.domain.views import CertificateView

ENROLLED = "professional.enrolled"
ENROLMENT_COMPLETED = "enrolment.completed"  # a held account kit can go: the mailbox got a certificate
CERTIFICATE_PUBLISHED = "certificate.published"
CERTIFICATE_REVOKED = "certificate.revoked"
IMPORTED = "directory.imported"  # published by the importer; the directory refreshes its search helpers


def enrolled(enrolment: Enrolment, display_name: str) -> dict[str, Any]:
    return {
        "schema_version": 1, "enrolment_id": enrolment.id, "rpps": enrolment.rpps,
        "mailbox": enrolment.mailbox, "display_name": display_name,
        "enrolled_at": enrolment.enrolled_at.isoformat(timespec="seconds"),
        "account_kit": "held" if enrolment.kit_held else "sending",
    }


def enrolment_completed(enrolment: Enrolment, display_name: str, certificate: CertificateView,
                        when: datetime) -> dict[str, Any]:
    return {
        "schema_version": 1, "enrolment_id": enrolment.id, "rpps": enrolment.rpps, "mailbox": enrolment.mailbox,
        "display_name": display_name, "certificate_fingerprint": certificate.fingerprint,
        "completed_at": when.isoformat(timespec="seconds"),
    }


def certificate_published(certificate: CertificateView, owners: tuple[str, ...]) -> dict[str, Any]:
    return {**_certificate(certificate, owners), "not_after": certificate.not_after.isoformat(timespec="seconds")}


def certificate_revoked(certificate: CertificateView, owners: tuple[str, ...], when: datetime) -> dict[str, Any]:
    return {**_certificate(certificate, owners), "revoked_at": when.isoformat(timespec="seconds")}


def _certificate(certificate: CertificateView, owners: tuple[str, ...]) -> dict[str, Any]:
    return {
        "schema_version": 1, "fingerprint": certificate.fingerprint, "mailbox": certificate.mailbox,
        "professional_idnps": certificate.professional_idnps, "owners": sorted(owners),
    }


def certificate_subject(certificate: CertificateView) -> str:
    return f"certificate/{certificate.fingerprint}"
