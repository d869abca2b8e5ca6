"""Commands of the directory's API besides enrolment (domain/enrolment.py)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PublishCertificate:
    """For ``mailbox``; else for the professional ``rpps``; else for the caller's own record."""

    pem: str
    mailbox: str | None = None
    rpps: str | None = None


@dataclass(frozen=True, slots=True)
class CreateCpts:
    finess: str
    name: str
    communes: tuple[str, ...] = ()
    postal_codes: tuple[str, ...] = ()
