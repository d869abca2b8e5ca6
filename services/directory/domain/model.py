"""The directory's entities as frozen values: who practises where, and how to reach them securely."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.directory.domain.codes import MailboxType, OrganisationKind
from services.directory.domain.names import normalise
from services.shared import identifiers
from services.shared.errors import Invalid


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...] = ()
    postal_code: str = ""
    commune_code: str = ""  # INSEE code (2A/2B in Corsica), not the postal code
    city: str = ""
    country: str = "FR"


@dataclass(frozen=True, slots=True)
class Professional:
    """A health professional, keyed by the national identifier IDNPS (8 + RPPS or 0 + ADELI)."""

    idnps: str
    family: str
    given: str
    profession: str  # TRE_G15 code
    specialty: str = ""  # TRE_R38 code, the ordinal specialty
    civility: str = ""  # M, MME
    title: str = ""  # civilité d'exercice: DR, PR
    category: str = ""
    active: bool = True

    def __post_init__(self) -> None:
        identifiers.check_idnps(self.idnps)

    @property
    def id_type(self) -> str:
        return self.idnps[0]

    @property
    def rpps(self) -> str | None:
        return identifiers.rpps_of(self.idnps)

    @property
    def adeli(self) -> str | None:
        return identifiers.adeli_of(self.idnps)

    @property
    def family_normalised(self) -> str:
        return normalise(self.family)


@dataclass(frozen=True, slots=True)
class Organisation:
    """A site or legal entity: hospital, practice, MSP, pharmacy, CPTS…"""

    id: str  # the directory's technical structure id, e.g. F + FINESS, C + SIRET
    name: str
    kind: OrganisationKind = OrganisationKind.OTHER
    finess: str = ""
    legal_finess: str = ""  # the FINESS of the legal entity: the organisation this one is part of
    siret: str = ""
    address: Address = Address()
    active: bool = True

    def __post_init__(self) -> None:
        for number in (self.finess, self.legal_finess):
            if number:
                identifiers.check_finess(number)


@dataclass(frozen=True, slots=True)
class Activity:
    """Where and how a professional practises: the FHIR PractitionerRole."""

    professional: str  # IDNPS
    ref: str  # identifies the activity among the professional's ones
    organisation: str = ""  # Organisation.id, empty for a professional without a site
    profession: str = ""
    specialty: str = ""
    mode: str = ""  # L libéral, S salarié, B bénévole
    address: Address = Address()
    phones: tuple[str, ...] = ()
    email: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class Mailbox:
    """An MSSanté secure-messaging mailbox and the professionals who own it."""

    address: str
    type: MailboxType
    owners: tuple[str, ...] = ()  # IDNPS of the owning professionals
    organisation: str = ""  # structure identifier for practice and organisational mailboxes
    active: bool = True

    def __post_init__(self) -> None:
        identifiers.check_mailbox_address(self.address, "address")
        if self.type is MailboxType.PERSONAL and len(self.owners) != 1:
            raise Invalid("A personal mailbox has exactly one owner.", expression="owners")


@dataclass(frozen=True, slots=True)
class Certificate:
    """An X.509 certificate used to encrypt for a mailbox or a professional."""

    fingerprint: str  # SHA-256 of the DER, lower-case hex
    pem: str
    subject: str
    not_before: datetime
    not_after: datetime
    key_usage: frozenset[str] = frozenset()
    revoked: bool = False

    def valid_at(self, when: datetime) -> bool:
        return not self.revoked and self.not_before <= when <= self.not_after

    def can_encrypt_at(self, when: datetime) -> bool:
        usable = bool(self.key_usage & {"key_encipherment", "key_agreement"})
        return usable and self.valid_at(when)


@dataclass(frozen=True, slots=True)
class Cpts:
    """A CPTS: an organisation with a territory (communes, postal codes) and member professionals."""

    organisation: str
    name: str
    communes: frozenset[str] = frozenset()
    postal_codes: frozenset[str] = frozenset()
    members: frozenset[str] = field(default_factory=frozenset)

    def covers(self, address: Address) -> bool:
        return address.commune_code in self.communes or address.postal_code in self.postal_codes

    def with_member(self, idnps: str) -> Cpts:
        identifiers.check_idnps(idnps)
        return Cpts(self.organisation, self.name, self.communes, self.postal_codes, self.members | {idnps})
