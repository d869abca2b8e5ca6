"""A FHIR search query string as a Search: strict by default, lenient on ``Prefer: handling=lenient``.

The parameters declared here are exactly those the CapabilityStatement lists.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from services.directory.adapters import fhir_values as values
from services.directory.domain import search as limits
from services.directory.domain.search import DEFAULT_COUNT, MAX_COUNT, Criterion, Paging, Resource, Search
from services.shared.errors import Invalid
from services.shared.web import SearchParam


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    parse: values.Parse
    documentation: str


def _string(name: str, what: str) -> Param:
    return Param(name, "string", values.string, f"{what}: accent- and case-blind prefix; :exact for the exact value.")


_POSTAL = _string("address-postalcode", "Postal code of a place of practice")
_CITY = _string("address-city", "City of a place of practice")
_MAILBOX = _string("mailbox-mss", "MSSanté mailbox address")
PARAMS: dict[Resource, tuple[Param, ...]] = {
    Resource.PRACTITIONER: (
        Param("identifier", "token", values.practitioner_identifier,
              "RPPS (https://rpps.esante.gouv.fr|…) or IDNPS (urn:oid:1.2.250.1.71.4.2.1|…), or a bare number."),
        _string("family", "Family name"), _string("given", "Given name"),
        _string("name", "Family or given name"),
        Param("active", "token", values.boolean, "true or false."), _MAILBOX,
        Param("qualification-code", "token", values.QUALIFICATION, "Profession (TRE_G15) or specialty (TRE_R38)."),
        _POSTAL,
    ),
    Resource.ROLE: (
        Param("practitioner", "reference", values.reference_to("Practitioner"), "Practitioner/<id>."),
        Param("organization", "reference", values.reference_to("Organization"), "Organization/<id>."),
        Param("role", "token", values.ROLE, "Profession (TRE_G15) or function (TRE_R21)."),
        Param("specialty", "token", values.SPECIALTY, "Specialty (TRE_R38)."),
        _POSTAL, _CITY, _MAILBOX,
    ),
    Resource.ORGANIZATION: (
        Param("identifier", "token", values.organisation_identifier,
              "FINESS (https://finess.esante.gouv.fr), SIRET (https://sirene.fr) or IDNST "
              "(urn:oid:1.2.250.1.71.4.2.2, 1 + FINESS or 3 + SIRET)."),
        _string("name", "Name"),
        Param("type", "token", values.ORGANISATION_TYPE, "Kind (maillage organisation-kind) or sector (TRE_R02)."),
        _POSTAL, _CITY,
        Param("partof", "reference", values.reference_to("Organization"),
              "Organization/<id> of the legal entity, or :identifier=https://finess.esante.gouv.fr|<FINESS>."),
    ),
}
INCLUDES = {"PractitionerRole:practitioner": "practitioner", "PractitionerRole:organization": "organization"}
_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")


def search_params(resource: Resource) -> tuple[SearchParam, ...]:
    return tuple(SearchParam(p.name, p.type, p.documentation) for p in PARAMS[resource])


def search_includes(resource: Resource) -> tuple[str, ...]:
    """The ``_include`` values a search of ``resource`` accepts, as the CapabilityStatement lists them."""
    return tuple(value for value in INCLUDES if value.partition(":")[0] == resource.value)


def is_lenient(prefer: str | None) -> bool:
    return any(part.strip().replace(" ", "") == "handling=lenient" for part in (prefer or "").split(";"))


TOO_COSTLY = "too-costly"
# C0 and C1 controls (NUL among them: PostgreSQL refuses it in text) and lone surrogates (not encodable).
_REFUSED_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TOKEN_LENGTHS = {"token": None, "string": limits.MAX_STRING_LENGTH, "reference": limits.MAX_REFERENCE_LENGTH}


def parse_search(resource: Resource, args: Iterable[tuple[str, str]], *, lenient: bool = False) -> Search:
    """Raises ``Invalid`` naming the first unknown or malformed parameter, unless ``lenient``.

    A query past the bounds of one search (``domain.search``: parameters, repeats, alternatives) is
    refused with the code ``too-costly`` even when lenient: leaving parts of it out would answer
    another search than the one asked.
    """
    specs = {p.name: p for p in PARAMS[resource]}
    search, ignored = Search(resource), []
    for position, (key, raw) in enumerate(args):
        if position == limits.MAX_PARAMETERS:
            raise _too_costly(f"A search takes at most {limits.MAX_PARAMETERS} parameters.", key)
        try:
            _check_characters(key, raw)
            search = _apply(search, specs, key, raw)
        except Invalid as error:
            if not lenient or error.code == TOO_COSTLY:
                raise
            ignored.append(_shown(key))
    _check_cost(search)
    return replace(search, ignored=tuple(dict.fromkeys(ignored)))


def _shown(key: str) -> str:
    return key[:limits.MAX_KEY_LENGTH]


def _too_costly(message: str, key: str) -> Invalid:
    return Invalid(message, expression=_shown(key), code=TOO_COSTLY)


def _check_characters(key: str, raw: str) -> None:
    if len(key) > limits.MAX_KEY_LENGTH:
        raise Invalid(f"A parameter name is at most {limits.MAX_KEY_LENGTH} characters.", expression=_shown(key))
    if _REFUSED_CHARACTERS.search(key) or _REFUSED_CHARACTERS.search(raw):
        raise Invalid("A search parameter holds a control character.", expression=_REFUSED_CHARACTERS.sub("?", key))
    if len(raw) > limits.MAX_RAW_LENGTH:
        raise _too_costly(f"'{key}' is longer than {limits.MAX_RAW_LENGTH} characters.", key)


def _check_cost(search: Search) -> None:
    terms, repeats = 0, dict[str, int]()
    for criterion in search.criteria:
        repeats[criterion.name] = repeats.get(criterion.name, 0) + 1
        if repeats[criterion.name] > limits.MAX_REPEATS:
            raise _too_costly(f"'{criterion.name}' is repeated more than {limits.MAX_REPEATS} times.", criterion.key)
        terms += len(criterion.alternatives)
        if terms > limits.MAX_TERMS:
            raise _too_costly(f"A search takes at most {limits.MAX_TERMS} values over all its parameters.",
                              criterion.key)


def _apply(search: Search, specs: dict[str, Param], key: str, raw: str) -> Search:
    name, _, modifier = key.partition(":")
    if name.startswith("_"):
        return _result_param(search, key, raw)
    spec = specs.get(name)
    if spec is None:
        known = ", ".join(sorted(specs))
        raise Invalid(f"Unknown search parameter '{key}' for {search.resource}; known: {known}.", expression=key)
    if raw == "":
        return search  # FHIR: a parameter without a value is ignored
    split = values.alternatives(raw)
    if len(split) > limits.MAX_ALTERNATIVES:
        raise _too_costly(f"'{key}' takes at most {limits.MAX_ALTERNATIVES} comma-separated values.", key)
    for value in split:
        _check_length(spec, key, value)
    parsed = tuple(spec.parse(key, value, modifier or None) for value in split)
    return replace(search, criteria=(*search.criteria, Criterion(name, key, raw, parsed)))


def _check_length(spec: Param, key: str, value: str) -> None:
    longest = _TOKEN_LENGTHS[spec.type]
    if longest is not None:
        if len(value) > longest:
            raise Invalid(f"Each value of '{key}' is at most {longest} characters.", expression=key)
        return
    system, bar, code = value.partition("|")
    system, code = (system, code) if bar else ("", value)
    if len(system) > limits.MAX_SYSTEM_LENGTH:
        raise Invalid(f"The system of '{key}' is at most {limits.MAX_SYSTEM_LENGTH} characters.", expression=key)
    if len(code) > limits.MAX_CODE_LENGTH:
        raise Invalid(f"The code of '{key}' is at most {limits.MAX_CODE_LENGTH} characters.", expression=key)


def _result_param(search: Search, key: str, raw: str) -> Search:
    paging = search.paging
    if key == "_count":
        return replace(search, paging=replace(paging, count=min(_whole(key, raw), MAX_COUNT)))
    if key == "_offset":
        offset = _whole(key, raw)
        if offset > limits.MAX_OFFSET:
            raise _too_costly(f"'_offset' goes up to {limits.MAX_OFFSET}; narrow the search to see further.", key)
        return replace(search, paging=replace(paging, offset=offset))
    if key == "_total":
        if raw not in ("none", "estimate", "accurate"):
            raise Invalid("'_total' must be none, estimate or accurate.", expression=key)
        return replace(search, paging=replace(paging, total=raw != "none"))
    if key == "_include":
        return _include(search, key, raw)
    if key == "_format" and raw in _FORMATS:
        return search
    raise Invalid(f"Unsupported parameter '{key}'.", expression=key)


def _include(search: Search, key: str, raw: str) -> Search:
    source, _, rest = raw.partition(":")
    target = INCLUDES.get(f"{source}:{rest.partition(':')[0]}") if source == search.resource else None
    if target is None:
        allowed = ", ".join(INCLUDES) if search.resource is Resource.ROLE else "none on this resource"
        raise Invalid(f"'_include={raw[:80]}' is not supported; supported: {allowed}.", expression=key)
    return replace(search, include=tuple(dict.fromkeys((*search.include, target))))


_WHOLE = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() takes '²' and '٣', which int() refuses
_HUGE = 10**18  # what any longer number stands for (int() refuses past 4,300 digits; SQLite past 2**63)


def _whole(key: str, raw: str) -> int:
    if not _WHOLE.fullmatch(raw):
        raise Invalid(f"'{key}' must be a whole number, 0 or more, in digits 0-9.", expression=key)
    return int(raw) if len(raw) <= 18 else _HUGE


def default_paging() -> Paging:
    return Paging(0, DEFAULT_COUNT, True)
