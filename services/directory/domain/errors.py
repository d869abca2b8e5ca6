"""The directory's business errors; each maps to one HTTP status through its MaillageError base."""
from __future__ import annotations

from services.shared.errors import Conflict, Forbidden, NotFound, Unprocessable


class NotInNationalDirectory(Unprocessable):
    """The RPPS number is well formed but no professional holds it in the imported national data."""


class NameMismatch(Unprocessable):
    """The name given does not match the national data for this RPPS number."""


class AlreadyEnrolled(Conflict):
    """This professional has enrolled already."""


class MailboxTaken(Conflict):
    """The mailbox address belongs to someone else."""


class UnusableCertificate(Unprocessable):
    """The certificate cannot serve to encrypt for its owner: expired, weak key, wrong key usage..."""

    code = "security"


class CertificateConflict(Conflict):
    """The certificate is on record already, for another owner or revoked."""


class UnknownResource(NotFound):
    """No professional, mailbox, certificate, CPTS or resource has this identifier."""


class NotOwner(Forbidden):
    """Only the owner (or an administrator) may do this."""
