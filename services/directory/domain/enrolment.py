"""Enrolment through the regional form: the command, its field rules and the match with national data."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from services.directory.domain.errors import NameMismatch
from services.directory.domain.names import normalise
from services.shared.errors import Invalid
from services.shared.identifiers import check_mailbox_address, check_rpps

CIVILITIES = {"M": "M", "M.": "M", "MONSIEUR": "M", "MME": "MME", "MADAME": "MME"}
TITLES = {"DR": "Dr", "PR": "Pr"}
_PHONE_NOISE = str.maketrans("", "", " .-()")
_POSTAL_CODE = re.compile(r"\d{5}")


@dataclass(frozen=True, slots=True)
class Enrol:
    """The form as filled in; ``enrol()`` checks it against the national data."""

    civility: str
    family: str
    given: str
    mailbox: str
    phone1: str
    rpps: str
    address: str
    postal_code: str
    city: str
    phone2: str | None = None
    specialty: str | None = None
    certificate_pem: str | None = None

    def checked(self) -> Enrol:
        """The same form with each field checked and put in its canonical shape, or ``Invalid``."""
        return Enrol(
            civility=check_civility(self.civility), family=_required(self.family, "family"),
            given=_required(self.given, "given"), mailbox=check_mailbox_address(self.mailbox),
            phone1=check_phone(self.phone1, "phone1"), rpps=check_rpps(self.rpps.strip()),
            address=_required(self.address, "address"), postal_code=check_postal_code(self.postal_code),
            city=_required(self.city, "city"),
            phone2=check_phone(self.phone2, "phone2") if self.phone2 else None,
            specialty=(self.specialty or "").strip() or None, certificate_pem=self.certificate_pem or None,
        )


@dataclass(frozen=True, slots=True)
class Enrolment:
    """An accepted enrolment."""

    id: str
    rpps: str
    idnps: str
    civility: str
    family: str
    given: str
    mailbox: str
    phone1: str
    phone2: str | None
    address: str
    postal_code: str
    city: str
    specialty: str | None
    enrolled_at: datetime
    enrolled_by: str
    certificate_fingerprint: str | None = None
    kit_held: bool = False  # the account kit waits for a certificate of the mailbox


def _required(value: str, field: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise Invalid(f"'{field}' must not be empty.", expression=field)
    return cleaned


def check_civility(value: str) -> str:
    civility = CIVILITIES.get(value.strip().upper())
    if civility is None:
        raise Invalid("'civility' must be M (Monsieur) or MME (Madame).", expression="civility")
    return civility


def check_phone(value: str, field: str) -> str:
    """A French phone number as ten digits (``+33 6 12 34 56 78`` → ``0612345678``)."""
    digits = value.translate(_PHONE_NOISE)
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    if len(digits) != 10 or not digits.isdigit() or digits[0] != "0":
        raise Invalid(f"'{field}' must be a French phone number of ten digits, e.g. 01 23 45 67 89.",
                      expression=field)
    return digits


def check_postal_code(value: str) -> str:
    code = value.strip()
    if not _POSTAL_CODE.fullmatch(code):
        raise Invalid("'postal_code' must be five digits.", expression="postal_code")
    return code


def check_names_match(form: Enrol, family: str, given: str) -> None:
    """Family and given names must be those of the national data, whatever the accents or the case."""
    if normalise(form.family) != normalise(family):
        raise NameMismatch("The family name does not match the national directory for this RPPS number.",
                           expression="family")
    if normalise(form.given) != normalise(given):
        raise NameMismatch("The given name does not match the national directory for this RPPS number.",
                           expression="given")


def display_name(title: str | None, civility: str | None, given: str, family: str) -> str:
    """How to greet a professional: ``Dr Jeanne Martin``, ``Mme Jeanne Martin``."""
    prefix = TITLES.get((title or "").upper()) or {"M": "M.", "MME": "Mme"}.get((civility or "").upper(), "")
    return " ".join(part for part in (prefix, given, family) if part)
