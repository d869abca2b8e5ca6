"""Checks for the identifiers of professionals (RPPS, ADELI, IDNPS) and structures (FINESS, SIRET)."""
from __future__ import annotations

from services.shared.errors import Invalid

RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
SIRET_SYSTEM = "https://sirene.fr"

ADELI = "0"
RPPS = "8"
ID_TYPES = {ADELI: "ADELI", RPPS: "RPPS"}

_DIGITS = frozenset("0123456789")
_LA_POSTE = "356000000"
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# Luhn doubles every second digit from the right and adds the digits of the product.
_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (decimal digits only) passes the Luhn check."""
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


def check_rpps(value: str) -> str:
    """Return ``value`` when it is an RPPS number: 11 digits passing the Luhn check."""
    if not _is_digits(value, 11):
        raise Invalid("An RPPS number must be 11 digits.", expression="rpps")
    if not luhn_valid(value):
        raise Invalid("The RPPS number fails its check digit (Luhn).", expression="rpps")
    return value


def check_adeli(value: str) -> str:
    """Return ``value`` when it is an ADELI number: 9 digits (its check digit is not published)."""
    if not _is_digits(value, 9):
        raise Invalid("An ADELI number must be 9 digits.", expression="adeli")
    return value


def check_professional(id_type: str, identifier: str) -> str:
    """Check an identifier by its type (0 ADELI, 8 RPPS) and return its IDNPS (type + identifier)."""
    if not identifier:
        raise Invalid("The professional's identifier is missing.", expression="identifier")
    if id_type == RPPS:
        return RPPS + check_rpps(identifier)
    if id_type == ADELI:
        return ADELI + check_adeli(identifier)
    raise Invalid("The identifier type must be 8 (RPPS) or 0 (ADELI).", expression="identifier.type")


def check_idnps(value: str) -> tuple[str, str]:
    """Split a national identifier (IDNPS) into its type and identifier, checking both."""
    if not value:
        raise Invalid("The national identifier (IDNPS) is missing.", expression="idnps")
    check_professional(value[0], value[1:])
    return value[0], value[1:]


def idnps_of(id_type: str, identifier: str) -> str:
    """The IDNPS of a professional: ``8`` + RPPS or ``0`` + ADELI."""
    return check_professional(id_type, identifier)


def check_finess(value: str) -> str:
    """Return ``value`` when it is a FINESS number: 9 letters or digits (2A/2B in Corsica)."""
    if len(value) != 9 or not _ALNUM.issuperset(value):
        raise Invalid("A FINESS number must be 9 letters or digits.", expression="finess")
    return value


def check_siret(value: str) -> str:
    """Return ``value`` when it is a SIRET number: 14 digits passing the Luhn check."""
    if not _is_digits(value, 14):
        raise Invalid("A SIRET number must be 14 digits.", expression="siret")
    # La Poste's establishments, too many for Luhn, may instead have a digit sum divisible by 5.
    la_poste = value.startswith(_LA_POSTE) and sum(map(int, value)) % 5 == 0
    if not (la_poste or luhn_valid(value)):
        raise Invalid("The SIRET number fails its check digit (Luhn).", expression="siret")
    return value
