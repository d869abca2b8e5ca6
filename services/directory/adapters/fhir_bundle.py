"""A page of matches as a FHIR searchset Bundle (the shared FHIR edge's): total, links, includes, _elements."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.directory.adapters.fhir_params import INCLUDES
from services.directory.domain.search import MAX_OFFSET, Search
from services.directory.domain.views import Page
from services.shared.fhir import bundle as fhir_bundle
from services.shared.fhir.params import Query

ToResource = Callable[[Any], dict[str, Any]]
_ASKED = {target: value for value, target in INCLUDES.items()}  # "practitioner" -> "PractitionerRole:practitioner"


def searchset(search: Search, page: Page[Any], base: str, to_resource: ToResource) -> dict[str, Any]:
    """``base`` is the FHIR base URL; included values are mapped by ``to_resource`` too."""
    return fhir_bundle.searchset(
        query_of(search), _info(page), base, search.resource.value, map(to_resource, page.items),
        map(to_resource, page.included), max_offset=MAX_OFFSET)


def links(search: Search, page: Page[Any], url: str) -> list[dict[str, str]]:
    return fhir_bundle.links(query_of(search), _info(page), url, max_offset=MAX_OFFSET)


def query_of(search: Search) -> Query:
    return Query(search.criteria, search.paging, search.sort, tuple(_ASKED[target] for target in search.include),
                 search.elements, search.summary_count, search.pretty, search.ignored)


def _info(page: Page[Any]) -> fhir_bundle.PageInfo:
    return fhir_bundle.PageInfo(page.offset, page.count, page.total, page.has_more)
