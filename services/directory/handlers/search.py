"""FHIR searches and reads: Practitioner, PractitionerRole, Organization, with _include."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, TypeVar

import sqlalchemy as sa

from services.directory.adapters import search_query
from services.directory.adapters.connections import Reader
from services.directory.adapters.fhir_resources import role_id
from services.directory.domain.errors import UnknownResource
from services.directory.domain.search import Resource, Search
from services.directory.domain.views import OrganisationView, Page, PractitionerView, RoleView

T = TypeVar("T")


def search(query: Search, *, read: Reader, budget_seconds: float | None = None) -> Page[Any]:
    """One search and its includes, stopped with ``SearchTooCostly`` past ``budget_seconds``."""
    with read() as connection, search_query.budget(connection, budget_seconds):
        page = search_query.find(connection, query)
        if query.resource is Resource.ROLE and query.include:
            page = replace(page, included=tuple(_included(connection, page.items, query.include)))
    return page


def _included(connection: sa.Connection, roles: tuple[RoleView, ...], targets: tuple[str, ...]) -> list[Any]:
    found: list[Any] = []
    if "practitioner" in targets:
        found += search_query.practitioners(connection, (role.idnps for role in roles))
    if "organization" in targets:
        found += search_query.organisations(connection, (r.organisation_id for r in roles if r.organisation_id))
    return found


_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR's id datatype: anything else names no resource


def read_practitioner(resource_id: str, *, read: Reader) -> PractitionerView:
    _check_id(resource_id, "Practitioner")
    with read() as connection:
        found = search_query.practitioners(connection, [resource_id])
    return _one(found, "Practitioner", resource_id)


def read_role(resource_id: str, *, read: Reader) -> RoleView:
    _check_id(resource_id, "PractitionerRole")
    idnps = resource_id.rpartition("-")[0]
    with read() as connection:
        found = [role for role in search_query.roles_of(connection, idnps) if role_id(idnps, role.ref) == resource_id]
    return _one(found, "PractitionerRole", resource_id)


def read_organisation(resource_id: str, *, read: Reader) -> OrganisationView:
    _check_id(resource_id, "Organization")
    with read() as connection:
        found = search_query.organisations(connection, [resource_id])
    return _one(found, "Organization", resource_id)


def _check_id(resource_id: str, resource: str) -> None:
    """Before any database sees it: a NUL, a control character or 10 KB are no id (and PostgreSQL refuses NUL)."""
    if not _FHIR_ID.fullmatch(resource_id):
        raise UnknownResource(f"No {resource} has this id: an id is 1 to 64 letters, digits, '-' or '.'.",
                              expression="id")


def _one(found: list[T], resource: str, resource_id: str) -> T:
    if not found:
        raise UnknownResource(f"No {resource} has the id '{resource_id}'.", expression="id")
    return found[0]
