"""Typed rows of the extracts and the checks that decide whether a row is kept or rejected."""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from services.directory.adapters.annuaire_layout import ACTIVITY_FIELDS, MAILBOX_FIELDS
from services.directory.domain.codes import MailboxType
from services.shared.errors import Invalid
from services.shared.identifiers import ADELI, RPPS, check_finess, check_mailbox_address, check_professional


class ActivityRow(NamedTuple):
    """One line of a Personne_activite extract: a professional at one site (or at none)."""

    id_type: str
    identifier: str
    idnps: str
    title: str
    civility: str
    family: str
    given: str
    category: str
    profession_label: str
    siret: str
    siren: str
    finess: str
    legal_finess: str
    org_name: str
    trade_name: str
    structure_id: str
    profession: str
    skill_type: str
    skill: str
    mode: str
    role: str
    skill_label: str
    sector: str
    recipient_extra: str
    place_extra: str
    street_number: str
    street_number_suffix: str
    street_type: str
    street_type_label: str
    street_name: str
    distribution: str
    cedex: str
    postal_code: str
    commune_code: str
    city: str
    country: str
    phone: str
    phone2: str
    fax: str
    email: str
    department: str
    fingerprint: int  # of the whole line: a re-import rewrites the activity when it changes


class MailboxRow(NamedTuple):
    """One line of an MSSanté extract: a mailbox and, for PER and CAB, one owning professional."""

    mailbox_type: str
    address: str
    id_type: str
    identifier: str
    idnps: str
    structure_id_type: str
    structure_id: str
    service: str
    org_name: str
    postal_code: str
    dematerialisation: str
    fingerprint: int


# The readers build rows by position: the field lists and these tuples must agree.
assert ActivityRow._fields == (*(name for name, _ in ACTIVITY_FIELDS), "fingerprint")
assert MailboxRow._fields == (*(name for name, _ in MAILBOX_FIELDS), "fingerprint")

_ID_TYPES = {RPPS: RPPS, ADELI: ADELI, "RPPS": RPPS, "ADELI": ADELI}
_MAILBOX_TYPES = frozenset(MailboxType)


def professional_idnps(id_type: str, identifier: str, idnps: str) -> str:
    """The checked IDNPS of a row; the national identifier column, when given, must agree."""
    checked = check_professional(_ID_TYPES.get(id_type, id_type), identifier)
    if idnps and idnps != checked:
        raise Invalid("The national identifier (IDNPS) does not match the identifier type and number.")
    return checked


def activity_checker() -> Callable[[ActivityRow], None]:
    """A check for activity rows; a person's lines are consecutive, so each person is checked once."""
    last: list[tuple[str, ...]] = [("", "", "")]

    def check(row: ActivityRow) -> None:
        person = row[:3]  # id_type, identifier, idnps
        if person != last[0]:
            professional_idnps(*person)
            last[0] = person
        if row.finess:
            _finess(row.finess, "The site's FINESS number must be 9 letters or digits.")
        if row.legal_finess:
            _finess(row.legal_finess, "The legal entity's FINESS number must be 9 letters or digits.")

    return check


def _finess(value: str, message: str) -> None:
    try:
        check_finess(value)
    except Invalid:
        raise Invalid(message, expression="finess") from None


def check_mailbox(row: MailboxRow) -> None:
    if row.mailbox_type not in _MAILBOX_TYPES:
        raise Invalid("The mailbox type must be PER, CAB, ORG or APP.", expression="type")
    check_mailbox_address(row.address, "address")
    if row.identifier or row.idnps:
        professional_idnps(row.id_type, row.identifier, row.idnps)
    elif row.mailbox_type == MailboxType.PERSONAL:
        raise Invalid("A personal mailbox (PER) must name its owner's identifier.", expression="owner")


def owner_idnps(row: MailboxRow) -> str:
    """The owning professional's IDNPS, or "" for mailboxes without one (after ``check_mailbox``)."""
    if not (row.identifier or row.idnps):
        return ""
    return professional_idnps(row.id_type, row.identifier, row.idnps)
