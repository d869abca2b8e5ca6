"""Searchset Bundles: entries, total, and the self/first/previous/next/last links of a page.

Links are written on the base URL the caller passes, which must be the trusted one
(``services.shared.web.public_base_url``), never the request's Host header.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from services.shared.fhir.outcome import ignored_parameters
from services.shared.fhir.params import Query

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED",
             "display": "subsetted"}
_ALWAYS = ("resourceType", "id", "meta")  # kept by _elements whatever it names


@dataclass(frozen=True, slots=True)
class PageInfo:
    """Where a page sits in its result: ``total`` None when not counted; ``has_more`` when a next page exists."""

    offset: int
    count: int
    total: int | None
    has_more: bool


def searchset(query: Query, page: PageInfo, base: str, resource_type: str,
              matches: Iterable[dict[str, Any]], included: Iterable[dict[str, Any]] = (),
              *, max_offset: int) -> dict[str, Any]:
    """``base`` is the FHIR base URL (``…/fhir``); ``matches`` and ``included`` are resources."""
    entries = [entry(base, subset(resource, query.elements), "match") for resource in matches]
    entries += [entry(base, resource, "include") for resource in included]
    if query.ignored:
        entries.append({"resource": ignored_parameters(query.ignored), "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle", "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")},
        "type": "searchset",
    }
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links(query, page, f"{base}/{resource_type}", max_offset=max_offset)
    if entries:
        bundle["entry"] = entries
    return bundle


def entry(base: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    return {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}", "resource": resource,
            "search": {"mode": mode}}


def subset(resource: dict[str, Any], elements: Sequence[str]) -> dict[str, Any]:
    """``_elements``: the named top-level elements, with resourceType, id and meta, the latter tagged
    SUBSETTED (FHIR R4 3.1.1.5.9); the whole resource when none is named."""
    if not elements:
        return resource
    kept = {name: resource[name] for name in resource if name in elements or name in _ALWAYS}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", ()), SUBSETTED]
    kept["meta"] = meta
    return kept


def links(query: Query, page: PageInfo, url: str, *, max_offset: int) -> list[dict[str, str]]:
    """``url`` is the search's own URL (``…/fhir/Practitioner``); offsets past ``max_offset`` get no link."""
    count, offset = page.count, page.offset
    repeated = link_params(query)
    out = [_link("self", url, repeated, offset), _link("first", url, repeated, 0)]
    if offset > 0 and count:
        previous = offset - count
        if page.total is not None and offset >= page.total:  # past the end: back to the last page
            previous = last_offset(page.total, count, max_offset)
        out.append(_link("previous", url, repeated, max(previous, 0)))
    if page.has_more and count:
        out.append(_link("next", url, repeated, offset + count))
    if page.total is not None and count:
        out.append(_link("last", url, repeated, last_offset(page.total, count, max_offset)))
    return out


def last_offset(total: int, count: int, max_offset: int) -> int:
    """The last page's offset, or the last page a search may reach (``_offset`` stops at ``max_offset``)."""
    return min(max(total - 1, 0), max_offset) // count * count


def link_params(query: Query) -> list[tuple[str, str]]:
    """The parameters every link of the search repeats (all but ``_offset``), normalised."""
    params = [(criterion.key, criterion.raw) for criterion in query.criteria]
    params += [("_include", value) for value in query.include]
    if query.sort:
        params.append(("_sort", ",".join(str(key) for key in query.sort)))
    if query.elements:
        params.append(("_elements", ",".join(query.elements)))
    if query.summary_count:
        params.append(("_summary", "count"))
    else:
        params.append(("_count", str(query.paging.count)))
        if not query.paging.total:
            params.append(("_total", "none"))
    return params


def _link(relation: str, url: str, params: list[tuple[str, str]], offset: int) -> dict[str, str]:
    query = params + [("_offset", str(offset))] if offset else params
    return {"relation": relation, "url": f"{url}?{urlencode(query, safe='|:,/')}"}
