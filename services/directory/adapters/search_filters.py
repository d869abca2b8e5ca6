"""Search criteria as SQL conditions, one builder per (resource, parameter), usable on both backends."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from services.directory.adapters.tables import (
    activity,
    mailbox,
    mailbox_owner,
    organisation,
    professional,
    search_place,
)
from services.directory.domain.codes import PROFESSION_SYSTEM, SECTOR_SYSTEM, SPECIALTY_SYSTEM
from services.directory.domain.names import normalise, prefix_bounds
from services.directory.domain.search import Code, Resource, Text
from services.shared.fhir.params import DateRange

Condition = sa.ColumnElement[bool]
KIND_SYSTEM = "https://maillage.fr/fhir/CodeSystem/organisation-kind"
ROLE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R21-Fonction/FHIR/TRE-R21-Fonction"
POSTAL_CODE_LENGTH = 5


@dataclass(frozen=True, slots=True)
class OrgIdentifier:
    kind: str  # "finess" or "siret"
    value: str


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference parameter: a resource id, or (``by_identifier``) a business identifier."""

    id: str
    by_identifier: bool = False


def text(norm: sa.ColumnElement[str], raw: sa.ColumnElement[str], wanted: Text) -> Condition:
    """An accent- and case-blind prefix on the normalised column (a range: it uses the index)."""
    if wanted.exact:
        return sa.and_(norm == normalise(wanted.value), raw == wanted.value)
    low, high = prefix_bounds(wanted.value)
    return sa.and_(norm >= low, norm < high)


def postal_code(column: sa.ColumnElement[str], wanted: Text) -> Condition:
    code = wanted.value.strip()
    if wanted.exact or len(code) >= POSTAL_CODE_LENGTH:
        return column == code
    return sa.and_(column >= code, column < code + "\uffff")


def code(wanted: Code, columns: Mapping[str, sa.ColumnElement[str]]) -> Condition:
    """A token on the column of its code system, or on any of them when the system is not given."""
    if wanted.system is not None:
        return columns[wanted.system] == wanted.code
    return sa.or_(*(column == wanted.code for column in columns.values()))


def mailbox_owners(wanted: Text) -> sa.Select[Any]:
    """The IDNPS of the active owners of the active mailboxes matching ``wanted``."""
    address = wanted.value.strip().lower()
    matching = (mailbox.c.address == address if wanted.exact
                else sa.and_(mailbox.c.address >= address, mailbox.c.address < address + "\uffff"))
    return (sa.select(mailbox_owner.c.owner_idnps)
            .join(mailbox, mailbox.c.address == mailbox_owner.c.address)
            .where(matching, mailbox.c.active, mailbox_owner.c.active))


def city(postal: sa.ColumnElement[str], named: sa.ColumnElement[str], wanted: Text) -> Condition:
    if wanted.exact:
        return named == wanted.value
    low, high = prefix_bounds(wanted.value)
    places = sa.select(search_place.c.postal_code, search_place.c.city).where(
        search_place.c.city_norm >= low, search_place.c.city_norm < high)
    return sa.tuple_(postal, named).in_(places)


def last_updated(column: sa.ColumnElement[float], wanted: DateRange) -> Condition:
    """``_lastUpdated`` on a row's ``updated_at`` (what meta.lastUpdated shows): the instants of the value's
    precision, ``low`` <= t < ``high``, and the prefix's side of them."""
    low, high = wanted.low, wanted.high
    return {
        "eq": lambda: sa.and_(column >= low, column < high), "ne": lambda: sa.or_(column < low, column >= high),
        "gt": lambda: column >= high, "sa": lambda: column >= high, "ge": lambda: column >= low,
        "lt": lambda: column < low, "eb": lambda: column < low, "le": lambda: column < high,
    }[wanted.prefix]()


def role_of_id(resource_id: str) -> Condition:
    """A PractitionerRole id is its professional's IDNPS and a digest of the activity's reference
    (``fhir_resources.role_id``): the IDNPS narrows here, the digest is checked on the rows."""
    return activity.c.professional_idnps == resource_id.rpartition("-")[0]


def organisation_identifier(wanted: OrgIdentifier) -> Condition:
    return (organisation.c.finess if wanted.kind == "finess" else organisation.c.siret) == wanted.value


def part_of(wanted: Ref) -> Condition:
    if wanted.by_identifier:
        return organisation.c.legal_finess == wanted.id
    parent = organisation.alias("parent")
    return organisation.c.legal_finess == sa.select(parent.c.finess).where(parent.c.id == wanted.id).scalar_subquery()


p, a, o = professional.c, activity.c, organisation.c
_QUALIFICATIONS = {PROFESSION_SYSTEM: p.profession, SPECIALTY_SYSTEM: p.specialty}
_ROLES = {PROFESSION_SYSTEM: a.profession, ROLE_SYSTEM: a.role}
_TYPES = {KIND_SYSTEM: o.kind, SECTOR_SYSTEM: o.sector}

Builder = Callable[[Any], Condition]
BUILDERS: dict[Resource, dict[str, Builder]] = {
    Resource.PRACTITIONER: {
        "identifier": lambda idnps: p.idnps == idnps,
        "family": lambda v: text(p.family_norm, p.family, v),
        "given": lambda v: text(p.given_norm, p.given, v),
        "name": lambda v: sa.or_(text(p.family_norm, p.family, v), text(p.given_norm, p.given, v)),
        "active": lambda v: p.active == v,
        "mailbox-mss": lambda v: p.idnps.in_(mailbox_owners(v)),
        "qualification-code": lambda v: code(v, _QUALIFICATIONS),
        "address-postalcode": lambda v: p.idnps.in_(
            sa.select(a.professional_idnps).where(postal_code(a.postal_code, v))),
        "_id": lambda idnps: p.idnps == idnps,
        "_lastUpdated": lambda v: last_updated(p.updated_at, v),
    },
    Resource.ROLE: {
        "practitioner": lambda ref: a.professional_idnps == ref.id,
        "organization": lambda ref: a.organisation_id == ref.id,
        "role": lambda v: code(v, _ROLES),
        "specialty": lambda v: a.specialty == v.code,
        "address-postalcode": lambda v: postal_code(a.postal_code, v),
        "address-city": lambda v: city(a.postal_code, a.city, v),
        "mailbox-mss": lambda v: a.professional_idnps.in_(mailbox_owners(v)),
        "_id": role_of_id,
        "_lastUpdated": lambda v: last_updated(a.updated_at, v),
    },
    Resource.ORGANIZATION: {
        "identifier": organisation_identifier,
        "name": lambda v: text(o.name_norm, o.name, v),
        "type": lambda v: code(v, _TYPES),
        "address-postalcode": lambda v: postal_code(o.postal_code, v),
        "address-city": lambda v: city(o.postal_code, o.city, v),
        "partof": part_of,
        "_id": lambda resource_id: o.id == resource_id,
        "_lastUpdated": lambda v: last_updated(o.updated_at, v),
    },
}
