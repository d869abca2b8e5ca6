"""A page of matches as a FHIR searchset Bundle: total, self/first/previous/next/last links, includes."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from services.directory.domain.search import MAX_OFFSET, Search
from services.directory.domain.views import Page

ToResource = Callable[[Any], dict[str, Any]]


def searchset(search: Search, page: Page[Any], base: str, to_resource: ToResource) -> dict[str, Any]:
    """``base`` is the FHIR base URL; included values are mapped by ``to_resource`` too."""
    entries = [_entry(base, to_resource(item), "match") for item in page.items]
    entries += [_entry(base, to_resource(item), "include") for item in page.included]
    if search.ignored:
        entries.append({"resource": _ignored(search.ignored), "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle", "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")},
        "type": "searchset",
    }
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links(search, page, f"{base}/{search.resource}")
    if entries:
        bundle["entry"] = entries
    return bundle


def links(search: Search, page: Page[Any], url: str) -> list[dict[str, str]]:
    count, offset = page.count, page.offset
    out = [_link("self", url, search, offset), _link("first", url, search, 0)]
    if offset > 0 and count:
        previous = offset - count
        if page.total is not None and offset >= page.total:  # past the end: back to the last page
            previous = _last(page.total, count)
        out.append(_link("previous", url, search, max(previous, 0)))
    if page.has_more and count:
        out.append(_link("next", url, search, offset + count))
    if page.total is not None and count:
        out.append(_link("last", url, search, _last(page.total, count)))
    return out


def _last(total: int, count: int) -> int:
    """The last page's offset, or the last page a search may reach (``_offset`` stops at MAX_OFFSET)."""
    return min(max(total - 1, 0), MAX_OFFSET) // count * count


def _link(relation: str, url: str, search: Search, offset: int) -> dict[str, str]:
    query = [(criterion.key, criterion.raw) for criterion in search.criteria]
    query += [("_include", f"PractitionerRole:{target}") for target in search.include]
    query += [("_count", str(search.paging.count))]
    if not search.paging.total:
        query.append(("_total", "none"))
    if offset:
        query.append(("_offset", str(offset)))
    return {"relation": relation, "url": f"{url}?{urlencode(query, safe='|:,/')}"}


def _entry(base: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    return {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}", "resource": resource,
            "search": {"mode": mode}}


def _ignored(keys: tuple[str, ...]) -> dict[str, Any]:
    issues = [{"severity": "warning", "code": "not-supported", "expression": [key],
               "diagnostics": f"The parameter '{key}' was ignored (unknown or malformed; Prefer: handling=lenient)."}
              for key in keys]
    return {"resourceType": "OperationOutcome", "issue": issues}
