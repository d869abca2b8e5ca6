"""A FHIR search query string as a Search: strict by default, lenient on ``Prefer: handling=lenient``.

The parameters declared here are exactly those the CapabilityStatement lists.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from services.directory.adapters import fhir_values as values
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


def parse_search(resource: Resource, args: Iterable[tuple[str, str]], *, lenient: bool = False) -> Search:
    """Raises ``Invalid`` naming the first unknown or malformed parameter, unless ``lenient``."""
    specs = {p.name: p for p in PARAMS[resource]}
    search, ignored = Search(resource), []
    for key, raw in args:
        try:
            search = _apply(search, specs, key, raw)
        except Invalid:
            if not lenient:
                raise
            ignored.append(key)
    return replace(search, ignored=tuple(dict.fromkeys(ignored)))


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
    parsed = tuple(spec.parse(key, value, modifier or None) for value in values.alternatives(raw))
    return replace(search, criteria=(*search.criteria, Criterion(name, key, raw, parsed)))


def _result_param(search: Search, key: str, raw: str) -> Search:
    paging = search.paging
    if key == "_count":
        return replace(search, paging=replace(paging, count=min(_whole(key, raw), MAX_COUNT)))
    if key == "_offset":
        return replace(search, paging=replace(paging, offset=_whole(key, raw)))
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
        raise Invalid(f"'_include={raw}' is not supported; supported: {allowed}.", expression=key)
    return replace(search, include=tuple(dict.fromkeys((*search.include, target))))


def _whole(key: str, raw: str) -> int:
    if not raw.isdigit():
        raise Invalid(f"'{key}' must be a whole number, 0 or more.", expression=key)
    return int(raw)


def default_paging() -> Paging:
    return Paging(0, DEFAULT_COUNT, True)
