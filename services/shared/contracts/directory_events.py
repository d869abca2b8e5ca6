"""The events the directory publishes: professionals' enrolments, certificates, imports."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from services.shared.contracts.events import Email, EventData, Example, InstantSeconds

PUBLISHER = "directory"
PROFESSIONAL_ENROLLED = "professional.enrolled"
ENROLMENT_COMPLETED = "enrolment.completed"
CERTIFICATE_PUBLISHED = "certificate.published"
CERTIFICATE_REVOKED = "certificate.revoked"
DIRECTORY_IMPORTED = "directory.imported"

Rpps = Annotated[str, Field(pattern="^[0-9]{11}$")]
Idnps = Annotated[str, Field(pattern="^[08][0-9]+$")]
Fingerprint = Annotated[str, Field(pattern="^[0-9a-f]{64}$",
                                   description="SHA-256 of the DER certificate, lower-case hex.")]
DisplayName = Annotated[str, Field(
    description="Civility and name of the professional, for the kit's greeting (not patient data).")]
Count = Annotated[int, Field(ge=0)]
ImportKind = Literal["ps_activity", "mssante"]
_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
_FINGERPRINT = "5d41402abc4b2a76b9719d911017c592ae1f2c0d3d1a8b7e0f5e2c4b6a8d9e01"


class ProfessionalEnrolled(EventData):
    """A professional of the territory enrolled through the regional form. The welcome kit goes to `mailbox`, by
    secure message only: now when `account_kit` is `sending` (or absent), else (`held`: the mailbox has no
    certificate yet) once `enrolment.completed` announces a certificate for it."""

    TYPE: ClassVar[str] = PROFESSIONAL_ENROLLED
    PUBLISHER: ClassVar[str] = PUBLISHER
    SUMMARY: ClassVar[str] = (
        "A professional enrolled through the regional form; the welcome kit follows by secure message, now "
        "(account_kit sending) or after enrolment.completed (account_kit held: no certificate yet).")
    EXAMPLE: ClassVar[Example | None] = Example(
        "5f0c3a52-8a0e-4a4f-9d55-1f3f0f6c1a01", "2026-11-23T09:15:02.120+00:00", _TRACE,
        {"enrolment_id": "enr-7d1c", "rpps": "10001045367", "mailbox": "jeanne.martin@medecin.mssante.fr",
         "display_name": "Dr Jeanne Martin", "enrolled_at": "2026-11-23T09:15:02+00:00", "account_kit": "sending"})

    schema_version: Literal[1] = 1
    enrolment_id: str
    rpps: Rpps
    mailbox: Email
    display_name: DisplayName | None = None
    enrolled_at: InstantSeconds
    account_kit: Annotated[Literal["sending", "held"], Field(
        description="`sending`: the mailbox can receive the kit now. `held`: it waits for a certificate; "
                    "`enrolment.completed` follows its publication.")] | None = None

    def subject(self) -> str:
        return f"Practitioner/{self.rpps}"


class EnrolmentCompleted(EventData):
    """An enrolment whose account kit was held (`professional.enrolled` with `account_kit: held`) got what the kit
    needs: a certificate was published for its mailbox (or for its owner, the mailbox's only one). The welcome kit
    goes to `mailbox` now, by secure message only. Announced once per enrolment."""

    TYPE: ClassVar[str] = ENROLMENT_COMPLETED
    PUBLISHER: ClassVar[str] = PUBLISHER
    SUMMARY: ClassVar[str] = (
        "An enrolment whose account kit was held for want of a certificate got one (published for its mailbox, "
        "or for its owner when he is the mailbox's only one); the welcome kit follows by secure message.")
    EXAMPLE: ClassVar[Example | None] = Example(
        "9a3e51c0-2f4b-4c1e-8d0a-6b2f7e1c3d42", "2026-11-23T10:02:40.051+00:00", _TRACE,
        {"enrolment_id": "enr-7d1c", "rpps": "10001045367", "mailbox": "jeanne.martin@maillage.mssante.fr",
         "display_name": "Dr Jeanne Martin", "certificate_fingerprint": _FINGERPRINT,
         "completed_at": "2026-11-23T10:02:40+00:00"})

    schema_version: Literal[1] = 1
    enrolment_id: str
    rpps: Rpps
    mailbox: Email
    display_name: DisplayName | None = None
    certificate_fingerprint: Annotated[str, Field(
        pattern="^[0-9a-f]{64}$", description="The certificate whose publication completed the enrolment.")]
    completed_at: InstantSeconds

    def subject(self) -> str:
        return f"Practitioner/{self.rpps}"


class _CertificateEvent(EventData):
    schema_version: Literal[1] = 1
    fingerprint: Fingerprint
    mailbox: str | None
    professional_idnps: Idnps | None
    owners: tuple[Idnps, ...]

    def subject(self) -> str:
        return f"certificate/{self.fingerprint}"


class CertificatePublished(_CertificateEvent):
    """An encryption certificate was accepted for a mailbox or a professional (checked: validity, key usage, key
    size). Senders encrypting for its owners may refresh what they cached. No PEM: ask the directory
    (resolve_addresses) for it."""

    TYPE: ClassVar[str] = CERTIFICATE_PUBLISHED
    PUBLISHER: ClassVar[str] = PUBLISHER
    SUMMARY: ClassVar[str] = (
        "An encryption certificate was accepted for a mailbox or a professional; senders may refresh their cache. "
        "No work queue: every process holding the directory client (messaging) hears it on an exclusive queue "
        "of its own (<service>.forget_directory_answers.<id>) to evict its cached directory answers.")
    EXAMPLE: ClassVar[Example | None] = Example(
        "0f6b1c8e-3c0e-4d0b-9a57-3a1f2b7c9d10", "2026-11-23T09:20:11.310+00:00", _TRACE,
        {"fingerprint": _FINGERPRINT, "mailbox": "jeanne.martin@medecin.mssante.fr", "professional_idnps": None,
         "owners": ["810001045367"], "not_after": "2029-11-23T09:00:00+00:00"})

    mailbox: Annotated[str | None, Field(
        description="The mailbox it encrypts for, or null for a professional's own certificate.")]
    owners: Annotated[tuple[Idnps, ...], Field(description="IDNPS of the professionals who own it.")]
    not_after: InstantSeconds


class CertificateRevoked(_CertificateEvent):
    """An encryption certificate was revoked by its owner or an administrator: encrypt no more to it, and drop it
    from any cache."""

    TYPE: ClassVar[str] = CERTIFICATE_REVOKED
    PUBLISHER: ClassVar[str] = PUBLISHER
    SUMMARY: ClassVar[str] = (
        "An encryption certificate was revoked by its owner or an administrator; encrypt no more to it. "
        "No work queue: every process holding the directory client (messaging) hears it on an exclusive queue "
        "of its own (<service>.forget_directory_answers.<id>) to evict its cached directory answers.")
    EXAMPLE: ClassVar[Example | None] = Example(
        "8a3e7f20-5b1d-4c2e-9f0a-6d4b2c1e3f50", "2026-11-24T16:02:45.002+00:00",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-7a1c2e3f4b5d6e70-01",
        {"fingerprint": _FINGERPRINT, "mailbox": None, "professional_idnps": "810001045367",
         "owners": ["810001045367"], "revoked_at": "2026-11-24T16:02:45+00:00"})

    revoked_at: InstantSeconds


class DirectoryImported(EventData):
    """An Annuaire Santé extract was imported into the directory: one event per import, counts only (no row, no
    identifier)."""

    TYPE: ClassVar[str] = DIRECTORY_IMPORTED
    PUBLISHER: ClassVar[str] = PUBLISHER
    SUMMARY: ClassVar[str] = (
        "An Annuaire Santé extract was imported (counts only); the directory refreshes its city search helper.")
    EXAMPLE: ClassVar[Example | None] = Example(
        "0b7f2f4e-2a55-4d0c-8a7e-3f3c1d0e9a11", "2026-11-23T03:00:41.512+00:00",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        {"import_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0", "kind": "ps_activity", "rows": 2000000, "created": 1200,
         "updated": 5300, "unchanged": 1993100, "deactivated": 400, "rejected": 12})

    import_id: Annotated[str, Field(pattern="^[0-9a-f]{32}$")]
    kind: ImportKind
    rows: Count
    created: Count
    updated: Count
    unchanged: Count
    deactivated: Count
    rejected: Count

    def subject(self) -> str:
        return f"import/{self.import_id}"
