"""Runs a Search: filtered, stably ordered, paged, counted; rows come back as read models."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from services.directory.adapters import view_rows
from services.directory.adapters.fhir_resources import role_id
from services.directory.adapters.search_filters import BUILDERS, Condition, postal_code
from services.directory.adapters.tables import activity, mailbox, mailbox_owner, organisation, professional
from services.directory.domain.names import prefix_bounds
from services.directory.domain.search import MAX_OFFSET, Resource, Search, SearchTooCostly, Text
from services.directory.domain.views import OrganisationView, Page, PractitionerView, RoleView
from services.shared.fhir.params import SortKey

_TABLES = {Resource.PRACTITIONER: professional, Resource.ROLE: activity, Resource.ORGANIZATION: organisation}
_COLUMNS = {Resource.PRACTITIONER: view_rows.PRACTITIONER_COLUMNS, Resource.ROLE: view_rows.ROLE_COLUMNS,
            Resource.ORGANIZATION: view_rows.ORGANISATION_COLUMNS}
# A total order on each resource, so that pages neither repeat nor skip a row.
_ORDER = {
    Resource.PRACTITIONER: (professional.c.family_norm, professional.c.given_norm, professional.c.idnps),
    Resource.ROLE: (activity.c.professional_idnps, activity.c.ref),
    Resource.ORGANIZATION: (organisation.c.name_norm, organisation.c.id),
}


def conditions(search: Search) -> list[Condition]:
    """Criteria AND-ed, each one's alternatives OR-ed."""
    builders = BUILDERS[search.resource]
    hint = _family_hint(search)
    found = []
    for criterion in search.criteria:
        if hint is not None and criterion.name == "address-postalcode":
            found.append(sa.or_(*(_place_and_family(value, hint) for value in criterion.alternatives)))
            continue
        found.append(sa.or_(*(builders[criterion.name](value) for value in criterion.alternatives)))
    return found


def _family_hint(search: Search) -> Text | None:
    """One plain family prefix beside a postal code: both go to the activity index (postal code, family)."""
    if search.resource is not Resource.PRACTITIONER:
        return None
    families = search.values("family")
    if len(families) != 1 or len(families[0]) != 1:
        return None
    wanted = families[0][0]
    return wanted if isinstance(wanted, Text) and not wanted.exact else None


def _place_and_family(place: Any, family: Text) -> Condition:
    low, high = prefix_bounds(family.value)
    near = sa.select(activity.c.professional_idnps).where(
        postal_code(activity.c.postal_code, place), activity.c.family_norm >= low, activity.c.family_norm < high)
    return professional.c.idnps.in_(near)


# Criteria that bound the matches to some hundreds of rows, all read anyway to be sorted: the total comes
# with them (a window count) instead of from a second pass. Narrower ones rarely fill a page and need no count.
_BOUNDED = frozenset({"address-postalcode", "organization", "partof"})
_TOTAL = "_total"
# Built once: coercing a dozen columns and the order on every search costs more than the search on SQLite.
_PLAIN = {resource: sa.select(*_COLUMNS[resource]).order_by(*_ORDER[resource]) for resource in Resource}
_WINDOWED = {resource: sa.select(*_COLUMNS[resource], sa.func.count().over().label(_TOTAL)).order_by(*_ORDER[resource])
             for resource in Resource}


# _sort: what each name orders by (an index's leading columns); the resource's key breaks ties.
p, a, o = professional.c, activity.c, organisation.c
_SORT_COLUMNS: dict[Resource, dict[str, tuple[sa.Column[Any], ...]]] = {
    Resource.PRACTITIONER: {"family": (p.family_norm, p.given_norm), "given": (p.given_norm, p.family_norm),
                            "_id": (p.idnps,)},
    Resource.ROLE: {"practitioner": (a.professional_idnps,), "address-postalcode": (a.postal_code, a.family_norm)},
    Resource.ORGANIZATION: {"name": (o.name_norm,), "address-postalcode": (o.postal_code,), "_id": (o.id,)},
}
_KEY_COLUMNS = {Resource.PRACTITIONER: (p.idnps,), Resource.ROLE: (a.professional_idnps, a.ref),
                Resource.ORGANIZATION: (o.id,)}


def order_by(resource: Resource, sort: tuple[SortKey, ...]) -> list[sa.ColumnElement[Any]]:
    """The ORDER BY of a ``_sort``: a total order, so that pages neither repeat nor skip a row."""
    columns: list[sa.ColumnElement[Any]] = []
    seen: set[str] = set()
    for key in sort:
        for column in _SORT_COLUMNS[resource][key.name]:
            if column.key not in seen:
                seen.add(column.key)
                columns.append(column.desc() if key.descending else column.asc())
    columns += [column for column in _KEY_COLUMNS[resource] if column.key not in seen]
    return columns


@lru_cache(maxsize=256)
def _sorted(resource: Resource, sort: tuple[SortKey, ...], windowed: bool) -> sa.Select[Any]:
    """A sorted search's statement, built once per resource, order and kind (few: _sort's names are few)."""
    columns = [*_COLUMNS[resource], sa.func.count().over().label(_TOTAL)] if windowed else _COLUMNS[resource]
    return sa.select(*columns).order_by(*order_by(resource, sort))


def _base(search: Search, windowed: bool) -> sa.Select[Any]:
    if search.sort:
        return _sorted(search.resource, search.sort, windowed)
    return (_WINDOWED if windowed else _PLAIN)[search.resource]


def find(connection: sa.Connection, search: Search) -> Page[Any]:
    keys = _identifiers_only(search)
    if keys is not None:
        return _by_identifier(connection, search, keys)
    paging = search.paging
    where = conditions(search)
    if search.resource is Resource.ROLE and search.values("_id"):
        return _by_role_ids(connection, search, where)
    windowed = paging.total and any(criterion.name in _BOUNDED for criterion in search.criteria)
    rows: Sequence[Any] = []
    if paging.count:
        statement = _base(search, windowed).where(*where).offset(paging.offset).limit(paging.count + 1)
        rows = connection.execute(statement).mappings().all()
    has_more = len(rows) > paging.count and paging.offset + paging.count <= MAX_OFFSET  # no next link past it
    total = _total(connection, search, where, rows, has_more, windowed)
    if not paging.count:
        has_more = (total or 0) > paging.offset
    items = _views(connection, search.resource, rows[:paging.count])
    return Page(tuple(items), paging.offset, paging.count, total, has_more)


# SQLite calls the progress handler every this many virtual machine instructions (some tens of microseconds).
_PROGRESS_STEP = 10_000
_QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout


@contextmanager
def budget(connection: sa.Connection, seconds: float | None) -> Iterator[None]:
    """Statements run inside stop once ``seconds`` have passed, and ``SearchTooCostly`` is raised.

    On SQLite a progress handler (removed on the way out: the connection goes back to the pool)
    interrupts the statement: a long one would hold up every green thread of the process. On
    PostgreSQL ``SET LOCAL statement_timeout``, which ends with the read transaction.
    """
    if seconds is None:
        yield
        return
    sqlite = connection.dialect.name == "sqlite"
    driver: Any = connection.connection.driver_connection
    if sqlite:
        deadline = time.monotonic() + seconds
        driver.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEP)
    else:  # on the driver's connection: half the cost of going through SQLAlchemy (~0.1 ms, one round trip)
        driver.execute(f"SET LOCAL statement_timeout = {max(1, round(seconds * 1000))}")
    try:
        yield
    except sa.exc.OperationalError as error:
        if not _stopped(error.orig):
            raise
        raise SearchTooCostly("This search costs too much to run; narrow it with more precise values or "
                              "fewer alternatives.") from None
    finally:
        if sqlite:
            driver.set_progress_handler(None, 0)


def _stopped(error: BaseException | None) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        return str(error) == "interrupted"
    return getattr(error, "sqlstate", None) == _QUERY_CANCELED


def _identifiers_only(search: Search) -> list[str] | None:
    """The IDNPS a Practitioner search by identifier (or ``_id``: the IDNPS too) alone asks for
    (alternatives OR-ed, repeats AND-ed)."""
    if search.resource is not Resource.PRACTITIONER or not search.criteria:
        return None
    wanted: set[str] | None = None
    for criterion in search.criteria:
        if criterion.name not in ("identifier", "_id"):
            return None
        asked = {str(value) for value in criterion.alternatives}
        wanted = asked if wanted is None else wanted & asked
    return sorted(wanted or ())


def _by_identifier(connection: sa.Connection, search: Search, keys: list[str]) -> Page[Any]:
    """The most frequent search, on statements compiled once: a few keys, so paged here, not in SQL.

    Same answer as the general path (order, paging, total), without building and caching a statement
    per request, which cost more than SQLite's lookup itself.
    """
    if len(keys) == 1:
        rows = connection.execute(_BY_ONE_IDNPS, {"idnps": keys[0]}).mappings().all()
    elif search.sort and keys:
        statement = _sorted(Resource.PRACTITIONER, search.sort, False).where(professional.c.idnps.in_(_KEYS))
        rows = connection.execute(statement, {"keys": keys}).mappings().all()
    else:
        rows = connection.execute(_BY_IDNPS, {"keys": keys}).mappings().all() if keys else []
    return _paged(connection, search, rows)


def _by_role_ids(connection: sa.Connection, search: Search, where: list[Condition]) -> Page[Any]:
    """PractitionerRole ``_id``: the SQL narrows to the professionals the ids name (a few activities each),
    the ids' digests are checked on those rows; paged here, as ``_by_identifier``."""
    rows = connection.execute(_base(search, False).where(*where)).mappings().all()
    wanted = [set(map(str, alternatives)) for alternatives in search.values("_id")]
    rows = [row for row in rows if all(role_id(row["professional_idnps"], row["ref"]) in ids for ids in wanted)]
    return _paged(connection, search, rows)


def _paged(connection: sa.Connection, search: Search, rows: Sequence[Any]) -> Page[Any]:
    paging = search.paging
    total = len(rows) if paging.total else None
    page = rows[paging.offset:paging.offset + paging.count]
    has_more = len(rows) > paging.offset + paging.count if paging.count else (total or 0) > paging.offset
    has_more = has_more and paging.offset + paging.count <= MAX_OFFSET
    return Page(tuple(_views(connection, search.resource, page)), paging.offset, paging.count, total, has_more)


def _total(connection: sa.Connection, search: Search, where: list[Condition], rows: Sequence[Any],
           has_more: bool, windowed: bool) -> int | None:
    paging = search.paging
    if not paging.total:
        return None
    if windowed and rows:
        return int(rows[0][_TOTAL])
    if paging.offset == 0 and paging.count and not has_more:
        return len(rows)  # the whole result is on this first page
    count = sa.select(sa.func.count()).select_from(_TABLES[search.resource]).where(*where)
    return int(connection.execute(count).scalar_one())


def _views(connection: sa.Connection, resource: Resource, rows: Sequence[Any]) -> list[Any]:
    if resource is Resource.ORGANIZATION:
        return [view_rows.organisation_view(row) for row in rows]
    key = "idnps" if resource is Resource.PRACTITIONER else "professional_idnps"
    boxes = mailboxes_of(connection, {row[key] for row in rows})
    build: Callable[..., Any] = view_rows.practitioner if resource is Resource.PRACTITIONER else view_rows.role
    return [build(row, boxes.get(row[key], ())) for row in rows]


_KEYS: sa.BindParameter[list[str]] = sa.bindparam("keys", expanding=True)
_MAILBOXES_OF = (sa.select(mailbox_owner.c.owner_idnps, mailbox.c.address)
                 .join(mailbox, mailbox.c.address == mailbox_owner.c.address)
                 .where(mailbox_owner.c.owner_idnps.in_(_KEYS), mailbox_owner.c.active, mailbox.c.active)
                 .order_by(mailbox_owner.c.owner_idnps, mailbox.c.address))
# Built once: a search's own statement is built per query, these fixed ones need not be.
_PRACTITIONERS = (sa.select(*view_rows.PRACTITIONER_COLUMNS).where(professional.c.idnps.in_(_KEYS))
                  .order_by(professional.c.idnps))
_ROLES_OF = (sa.select(*view_rows.ROLE_COLUMNS).where(activity.c.professional_idnps == sa.bindparam("idnps"))
             .order_by(activity.c.ref))
_ORGANISATIONS = (sa.select(*view_rows.ORGANISATION_COLUMNS).where(organisation.c.id.in_(_KEYS))
                  .order_by(organisation.c.id))


_BY_IDNPS = _PLAIN[Resource.PRACTITIONER].where(professional.c.idnps.in_(_KEYS))
_BY_ONE_IDNPS = _PLAIN[Resource.PRACTITIONER].where(professional.c.idnps == sa.bindparam("idnps"))
_MAILBOXES_OF_ONE = (sa.select(mailbox_owner.c.owner_idnps, mailbox.c.address)
                     .join(mailbox, mailbox.c.address == mailbox_owner.c.address)
                     .where(mailbox_owner.c.owner_idnps == sa.bindparam("owner"), mailbox_owner.c.active,
                            mailbox.c.active)
                     .order_by(mailbox.c.address))


def mailboxes_of(connection: sa.Connection, owners: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The active mailboxes each professional owns, by IDNPS."""
    wanted = sorted(set(owners))
    if not wanted:
        return {}
    found: dict[str, list[str]] = {}
    # One owner (a read, a search by identifier): a statement without an expanding IN, compiled once.
    matches = connection.execute(_MAILBOXES_OF_ONE, {"owner": wanted[0]}) if len(wanted) == 1 else \
        connection.execute(_MAILBOXES_OF, {"keys": wanted})
    for owner, address in matches:
        found.setdefault(owner, []).append(address)
    return {owner: tuple(addresses) for owner, addresses in found.items()}


def practitioners(connection: sa.Connection, idnps: Iterable[str]) -> list[PractitionerView]:
    wanted = sorted(set(idnps))
    if not wanted:
        return []
    rows = connection.execute(_PRACTITIONERS, {"keys": wanted}).mappings().all()
    return [view_rows.practitioner(row, boxes) for row, boxes in _with_boxes(connection, rows, "idnps")]


def roles_of(connection: sa.Connection, idnps: str) -> list[RoleView]:
    rows = connection.execute(_ROLES_OF, {"idnps": idnps}).mappings().all()
    return [view_rows.role(row, boxes) for row, boxes in _with_boxes(connection, rows, "professional_idnps")]


def organisations(connection: sa.Connection, ids: Iterable[str]) -> list[OrganisationView]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = connection.execute(_ORGANISATIONS, {"keys": wanted}).mappings().all()
    return [view_rows.organisation_view(row) for row in rows]


def _with_boxes(connection: sa.Connection, rows: Sequence[Any], key: str) -> list[tuple[Any, tuple[str, ...]]]:
    boxes = mailboxes_of(connection, (row[key] for row in rows))
    return [(row, boxes.get(row[key], ())) for row in rows]
