"""A FHIR search query string as a Search: strict by default, lenient on ``Prefer: handling=lenient``.

The directory's own search parameters are declared here; the result parameters (``_count``, ``_sort``,
``_summary``...), ``_id``, ``_lastUpdated`` and the bounds are the shared FHIR edge's
(``services.shared.fhir.params``). What is declared here is exactly what the CapabilityStatement lists.
"""
from __future__ import annotations

from collections.abc import Iterable

from services.directory.adapters import fhir_values as values
from services.directory.domain.search import DEFAULT_COUNT, LIMITS, Resource, Search
from services.shared.fhir.capability import SearchParam
from services.shared.fhir.params import (
    ID,
    LAST_UPDATED,
    TOO_COSTLY,
    Paging,
    Param,
    SearchSpec,
    is_lenient,
    parse_query,
)

__all__ = ["INCLUDES", "PARAMS", "SORTS", "TOO_COSTLY", "Param", "is_lenient", "parse_search", "result_parameters",
           "search_includes", "search_params"]


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
        _POSTAL, ID, LAST_UPDATED,
    ),
    Resource.ROLE: (
        Param("practitioner", "reference", values.reference_to("Practitioner"), "Practitioner/<id>."),
        Param("organization", "reference", values.reference_to("Organization"), "Organization/<id>."),
        Param("role", "token", values.ROLE, "Profession (TRE_G15) or function (TRE_R21)."),
        Param("specialty", "token", values.SPECIALTY, "Specialty (TRE_R38)."),
        _POSTAL, _CITY, _MAILBOX, ID, LAST_UPDATED,
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
        ID, LAST_UPDATED,
    ),
}
# What _sort takes, each on an index (adapters/search_query.py: the columns); -name for descending.
SORTS: dict[Resource, tuple[str, ...]] = {
    Resource.PRACTITIONER: ("family", "given", "_id"),
    Resource.ROLE: ("practitioner", "address-postalcode"),
    Resource.ORGANIZATION: ("name", "address-postalcode", "_id"),
}
INCLUDES = {"PractitionerRole:practitioner": "practitioner", "PractitionerRole:organization": "organization"}
_SPECS = {
    resource: SearchSpec.of(resource.value, PARAMS[resource], sorts=SORTS[resource], limits=LIMITS,
                            includes=tuple(value for value in INCLUDES if value.partition(":")[0] == resource.value))
    for resource in Resource
}


def search_params(resource: Resource) -> tuple[SearchParam, ...]:
    return tuple(SearchParam(p.name, p.type, p.documentation) for p in PARAMS[resource])


def search_includes(resource: Resource) -> tuple[str, ...]:
    """The ``_include`` values a search of ``resource`` accepts, as the CapabilityStatement lists them."""
    return _SPECS[resource].includes


def result_parameters(resource: Resource) -> str:
    """What the CapabilityStatement says of a search's result parameters (each one works: tests try them)."""
    sorts = ", ".join(SORTS[resource])
    return (f"Result parameters: _count (at most {LIMITS.max_count}; 0 for the total only), _offset (up to "
            f"{LIMITS.max_offset}), _sort ({sorts}; -name descending), _summary=count, _elements, "
            "_total=none|estimate|accurate (or _totalMethod=none|estimate|count), _format=json, _pretty. "
            "POST [type]/_search takes the same parameters form-encoded. Prefer: handling=lenient ignores unknown "
            "or malformed parameters.")


def parse_search(resource: Resource, args: Iterable[tuple[str, str]], *, lenient: bool = False) -> Search:
    """Raises ``Invalid`` naming the first unknown or malformed parameter, unless ``lenient``.

    A query past the bounds of one search (``domain.search``: parameters, repeats, alternatives) is
    refused with the code ``too-costly`` even when lenient: leaving parts of it out would answer
    another search than the one asked; XML asked for with ``_format`` is a 406 either way.
    """
    query = parse_query(_SPECS[resource], args, lenient=lenient)
    return Search(resource, query.criteria, query.paging, tuple(INCLUDES[value] for value in query.include),
                  query.ignored, query.sort, query.elements, query.summary_count, query.pretty)


def default_paging() -> Paging:
    return Paging(0, DEFAULT_COUNT, True)
