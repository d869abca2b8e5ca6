"""Parsers of FHIR search values (token, string, reference, boolean) into search criteria values."""
from __future__ import annotations

import re
from collections.abc import Callable

from services.directory.adapters.search_filters import KIND_SYSTEM, ROLE_SYSTEM, OrgIdentifier, Ref
from services.directory.domain.codes import PROFESSION_SYSTEM, SECTOR_SYSTEM, SPECIALTY_SYSTEM
from services.directory.domain.names import normalise
from services.directory.domain.search import Code, Text
from services.shared import identifiers as ids
from services.shared.errors import Invalid

Parse = Callable[[str, str, str | None], object]  # (param key, one value, modifier) -> criterion value
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
def _split_token(value: str) -> tuple[str | None, str]:
    system, bar, code = value.partition("|")
    return (system, code) if bar else (None, value)


def string(key: str, value: str, modifier: str | None) -> Text:
    if modifier not in (None, "exact"):
        raise Invalid(f"'{key}': the :{modifier} modifier is not supported; use :exact or none.", expression=key)
    if not normalise(value):
        raise Invalid(f"'{key}' needs letters or digits to search for.", expression=key)
    return Text(value, exact=modifier == "exact")


def boolean(key: str, value: str, modifier: str | None) -> bool:
    if value not in ("true", "false"):
        raise Invalid(f"'{key}' must be true or false.", expression=key)
    return value == "true"


def token_in(*systems: str) -> Parse:
    def parse(key: str, value: str, modifier: str | None) -> Code:
        system, code = _split_token(value)
        if system is not None and system not in systems:
            raise Invalid(f"'{key}': unknown code system; use {' or '.join(systems)}.", expression=key)
        if not code:
            raise Invalid(f"'{key}' needs a code.", expression=key)
        return Code(code, system or None)

    return parse


def practitioner_identifier(key: str, value: str, modifier: str | None) -> str:
    """The IDNPS the identifier stands for: RPPS or IDNPS system, or a bare RPPS or IDNPS."""
    system, number = _split_token(value)
    try:
        if system == ids.RPPS_SYSTEM:
            return ids.RPPS + ids.check_rpps(number)
        if system == ids.IDNPS_SYSTEM:
            ids.check_idnps(number)
            return number
        if not system:
            return ids.professional_idnps(number)
    except Invalid as error:
        raise Invalid(f"'{key}': {error.message}", expression=key) from None
    raise Invalid(f"'{key}': unknown identifier system; use {ids.RPPS_SYSTEM} or {ids.IDNPS_SYSTEM}.",
                  expression=key)


def organisation_identifier(key: str, value: str, modifier: str | None) -> OrgIdentifier:
    """FINESS (``https://finess.esante.gouv.fr``), SIRET (``https://sirene.fr``) or IDNST (1 + FINESS, 3 + SIRET)."""
    system, number = _split_token(value)
    if system == ids.IDNST_SYSTEM or (not system and len(number) in (10, 15)):
        kind, number = {"1": "finess", "3": "siret"}.get(number[:1], ""), number[1:]
    elif system in (ids.FINESS_SYSTEM, ids.SIRET_SYSTEM):
        kind = "finess" if system == ids.FINESS_SYSTEM else "siret"
    elif not system:
        kind = "siret" if len(number) == 14 else "finess"
    else:
        raise Invalid(f"'{key}': unknown identifier system; use {ids.FINESS_SYSTEM}, {ids.SIRET_SYSTEM} or "
                      f"{ids.IDNST_SYSTEM}.", expression=key)
    try:
        checked = ids.check_finess(number) if kind == "finess" else ids.check_siret(number) if kind else None
    except Invalid as error:
        raise Invalid(f"'{key}': {error.message}", expression=key) from None
    if checked is None:
        raise Invalid(f"'{key}': a national structure identifier starts with 1 (FINESS) or 3 (SIRET).",
                      expression=key)
    return OrgIdentifier(kind, checked)


def reference_to(resource: str) -> Parse:
    def parse(key: str, value: str, modifier: str | None) -> Ref:
        if modifier == "identifier":
            return Ref(_finess_identifier(key, value), by_identifier=True)
        if modifier not in (None, resource):
            raise Invalid(f"'{key}': the :{modifier} modifier is not supported here.", expression=key)
        kind, slash, rest = value.rstrip("/").rpartition("/")
        resource_id = rest if slash else value
        if (slash and not kind.endswith(resource)) or not _ID.fullmatch(resource_id):
            raise Invalid(f"'{key}' must be a {resource} reference such as {resource}/<id>.", expression=key)
        return Ref(resource_id)

    return parse


def _finess_identifier(key: str, value: str) -> str:
    system, number = _split_token(value)
    if system not in (None, ids.FINESS_SYSTEM):
        raise Invalid(f"'{key}': by identifier, give a FINESS number ({ids.FINESS_SYSTEM}|...).", expression=key)
    try:
        return ids.check_finess(number)
    except Invalid as error:
        raise Invalid(f"'{key}': {error.message}", expression=key) from None


QUALIFICATION = token_in(PROFESSION_SYSTEM, SPECIALTY_SYSTEM)
ROLE = token_in(PROFESSION_SYSTEM, ROLE_SYSTEM)
SPECIALTY = token_in(SPECIALTY_SYSTEM)
ORGANISATION_TYPE = token_in(KIND_SYSTEM, SECTOR_SYSTEM)
