"""The platform's identifiers, checked once: RPPS, ADELI, IDNPS, FINESS, SIRET, INS (NIR), mailbox addresses.

Each ``check_*`` returns the normalised value or raises ``Invalid`` with one plain sentence, the field
named by ``field`` (the error's ``expression``). Messages never quote the value: an INS is health data,
and an identifier echoed back helps nobody. The FHIR systems and OIDs are the ANS's (see DOMAIN.md).
"""
from __future__ import annotations

import re

from services.shared.errors import Invalid

# FHIR identifier systems
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"  # a professional's national id: type (0 ADELI, 8 RPPS) + number
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"  # a structure's national id: 1 + FINESS, 3 + SIRET
SIRET_SYSTEM = "https://sirene.fr"
INS_NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
INS_NIA_SYSTEM = "urn:oid:1.2.250.1.213.1.4.9"  # a number the CNAV gave while the NIR is unknown
INS_NIR_TEST_SYSTEM = "urn:oid:1.2.250.1.213.1.4.10"
INS_NIR_DEMO_SYSTEM = "urn:oid:1.2.250.1.213.1.4.11"
INS_SYSTEMS = (INS_NIR_SYSTEM, INS_NIA_SYSTEM, INS_NIR_TEST_SYSTEM, INS_NIR_DEMO_SYSTEM)
MAILBOX_SYSTEM = "urn:ietf:rfc:5322"  # an identifier whose value is a mailbox address

# IDNPS types: the first character of a professional's national identifier
ADELI = "0"
RPPS = "8"
ID_TYPES = {ADELI: "ADELI", RPPS: "RPPS"}

MAX_ADDRESS = 254
_DIGITS = frozenset("0123456789")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_LA_POSTE = "356000000"
# Luhn doubles every second digit from the right and adds the digits of the product.
_DOUBLED = str.maketrans("0123456789", "0246813579")
# Sex 1 or 2 (3, 4 and 7, 8 for provisional numbers), birth year and month, department (2A/2B), commune,
# order, key: ASCII digits only, so that no Unicode digit reaches int().
_INS = re.compile(r"[1-478][0-9]{4}(?:[0-9]{2}|2[AB])[0-9]{6}")  # the NIR, without its key
_INS_SEPARATORS = str.maketrans("", "", " .")
_CORSICA = {"2A": "19", "2B": "18"}  # replaced before the modulo, as python-stdnum's fr.nir does
_MAILBOX = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                      r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (ASCII decimal digits only) passes the Luhn check."""
    folded = digits[-1::-2] + digits[-2::-2].translate(_DOUBLED)
    # Summing the ASCII codes keeps the whole check in C: each digit is its code minus 48.
    return (sum(folded.encode()) - 48 * len(folded)) % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that, appended to ``body``, makes it pass the Luhn check."""
    # Once the digit is appended, the body's last digit becomes the first one doubled.
    folded = body[-2::-2] + body[-1::-2].translate(_DOUBLED)
    return str(-(sum(folded.encode()) - 48 * len(folded)) % 10)


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and _DIGITS.issuperset(value)


def check_rpps(value: str, field: str = "rpps") -> str:
    """An RPPS number: 11 digits passing the Luhn check."""
    if not _is_digits(value, 11):
        raise Invalid("An RPPS number must be 11 digits.", expression=field)
    if not luhn_valid(value):
        raise Invalid("The RPPS number fails its check digit (Luhn).", expression=field)
    return value


def check_adeli(value: str, field: str = "adeli") -> str:
    """An ADELI number: 9 digits (its check digit is not published, so it is not checked)."""
    if not _is_digits(value, 9):
        raise Invalid("An ADELI number must be 9 digits.", expression=field)
    return value


def check_professional(id_type: str, identifier: str, field: str = "identifier") -> str:
    """Check an identifier by its type (0 ADELI, 8 RPPS) and return its IDNPS (type + identifier)."""
    if not identifier:
        raise Invalid("The professional's identifier is missing.", expression=field)
    if id_type == RPPS:
        return RPPS + check_rpps(identifier, field)
    if id_type == ADELI:
        return ADELI + check_adeli(identifier, field)
    raise Invalid("The identifier type must be 8 (RPPS) or 0 (ADELI).", expression=f"{field}.type")


def idnps_of(id_type: str, identifier: str) -> str:
    """The IDNPS of a professional: ``8`` + RPPS or ``0`` + ADELI, both checked."""
    return check_professional(id_type, identifier)


def check_idnps(value: str, field: str = "idnps") -> tuple[str, str]:
    """Split a national identifier (IDNPS) into its type and identifier, checking both."""
    if not value:
        raise Invalid("The national identifier (IDNPS) is missing.", expression=field)
    check_professional(value[0], value[1:], field)
    return value[0], value[1:]


def professional_idnps(value: str, field: str = "identifier") -> str:
    """The IDNPS named by an RPPS number (11 digits) or by an IDNPS (``8`` + RPPS, ``0`` + ADELI)."""
    if len(value) == 11:
        return RPPS + check_rpps(value, field)
    check_idnps(value, field)
    return value


def rpps_of(idnps: str) -> str | None:
    """The RPPS number inside an IDNPS (``8`` + RPPS), None for any other identifier (ADELI, internal)."""
    return idnps[1:] if len(idnps) == 12 and idnps.startswith(RPPS) else None


def adeli_of(idnps: str) -> str | None:
    """The ADELI number inside an IDNPS (``0`` + ADELI), None for any other identifier."""
    return idnps[1:] if len(idnps) == 10 and idnps.startswith(ADELI) else None


def check_finess(value: str, field: str = "finess") -> str:
    """A FINESS number, upper-cased: 9 letters or digits (2A/2B in Corsica; no check digit is published)."""
    if len(value) != 9 or not _ALNUM.issuperset(value):
        raise Invalid("A FINESS number must be 9 letters or digits.", expression=field)
    return value.upper()


def check_siret(value: str, field: str = "siret") -> str:
    """A SIRET number: 14 digits passing the Luhn check (or La Poste's rule)."""
    if not _is_digits(value, 14):
        raise Invalid("A SIRET number must be 14 digits.", expression=field)
    # La Poste's establishments, too many for Luhn, may instead have a digit sum divisible by 5.
    la_poste = value.startswith(_LA_POSTE) and sum(map(int, value)) % 5 == 0
    if not (la_poste or luhn_valid(value)):
        raise Invalid("The SIRET number fails its check digit (Luhn).", expression=field)
    return value


def nir_key(nir: str) -> int:
    """The key of a 13-character NIR: 97 - (NIR mod 97), Corsica's 2A and 2B counted as 19 and 18."""
    digits = nir[:5] + _CORSICA.get(nir[5:7], nir[5:7]) + nir[7:13]
    return 97 - int(digits) % 97


def check_ins(value: str, field: str = "patient_ins") -> str:
    """An INS (INS-NIR or NIA): 15 characters, the 13-character NIR and its 2-digit key; spaces and dots
    removed, upper case. The default ``field`` is the messaging API's."""
    ins = value.translate(_INS_SEPARATORS).strip().upper()
    if len(ins) != 15:
        raise Invalid("An INS has 15 characters: the 13-character NIR and its 2-digit key.", expression=field)
    if not _INS.fullmatch(ins[:13]) or not _is_digits(ins[13:], 2):
        raise Invalid("An INS is made of digits, the first 1, 2, 3, 4, 7 or 8 (2A or 2B for a birth in Corsica).",
                      expression=field)
    if nir_key(ins[:13]) != int(ins[13:]):
        raise Invalid("The INS fails its check key.", expression=field)
    return ins


def check_mailbox_address(value: str, field: str = "mailbox") -> str:
    """The one normalisation of a mailbox address (trimmed, ASCII, lower case): ``prenom.nom@medecin.mssante.fr``."""
    address = value.strip()
    if not address.isascii() or len(address) > MAX_ADDRESS or not _MAILBOX.fullmatch(address := address.lower()):
        raise Invalid(f"'{field}' must be a mailbox address such as prenom.nom@medecin.mssante.fr.",
                      expression=field)
    return address
