"""What searches and reads return: small values, mapped to FHIR or RPC results at the edge."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from services.directory.domain.model import Address

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PractitionerView:
    idnps: str
    id_type: str
    identifier: str
    family: str
    given: str
    title: str = ""
    civility: str = ""
    profession: str = ""
    profession_label: str = ""
    specialty: str = ""
    specialty_label: str = ""
    active: bool = True
    updated_at: float = 0.0
    mailboxes: tuple[str, ...] = ()

    @property
    def rpps(self) -> str | None:
        return self.identifier if self.id_type == "8" else None


@dataclass(frozen=True, slots=True)
class RoleView:
    """One activity: a professional at a site, with the site's address and contacts."""

    idnps: str
    ref: str
    organisation_id: str | None
    profession: str = ""
    specialty: str = ""
    specialty_label: str = ""
    mode: str = ""
    role: str = ""
    sector: str = ""
    address: Address = Address()
    phones: tuple[str, ...] = ()
    fax: str = ""
    email: str = ""
    active: bool = True
    updated_at: float = 0.0
    mailboxes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrganisationView:
    id: str
    name: str
    kind: str
    finess: str = ""
    legal_finess: str = ""
    siret: str = ""
    siren: str = ""
    trade_name: str = ""
    sector: str = ""
    address: Address = Address()
    active: bool = True
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of matches in a stable order; ``total`` is None when the caller did not want it."""

    items: tuple[T, ...]
    offset: int
    count: int
    total: int | None
    has_more: bool
    included: tuple[object, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CertificateView:
    fingerprint: str
    pem: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    key_usage: tuple[str, ...]
    revoked: bool
    revoked_at: datetime | None
    mailbox: str | None
    professional_idnps: str | None

    def status_at(self, when: datetime) -> str:
        if self.revoked:
            return "revoked"
        if when < self.not_before:
            return "not-yet-valid"
        return "expired" if when > self.not_after else "valid"
