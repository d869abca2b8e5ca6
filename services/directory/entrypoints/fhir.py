"""FHIR R4 search and read of Practitioner, PractitionerRole and Organization under /fhir."""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.directory.adapters.connections import Reader, reader
from services.directory.adapters.fhir_bundle import searchset
from services.directory.adapters.fhir_codes import AS_PROFILE
from services.directory.adapters.fhir_params import is_lenient, parse_search, search_includes, search_params
from services.directory.adapters.fhir_resources import resource_of
from services.directory.domain.search import Resource
from services.directory.handlers import search as handlers
from services.shared.nameko_ext.config import settings_of
from services.shared.web import FhirInteraction, fhir_json, http, public_base_url

PRACTITIONER, ROLE, ORGANIZATION = Resource.PRACTITIONER, Resource.ROLE, Resource.ORGANIZATION


def _search(resource: Resource) -> FhirInteraction:
    return FhirInteraction(resource.value, "search-type", search_params(resource), profile=AS_PROFILE[resource],
                           search_includes=search_includes(resource))


def _read(resource: Resource) -> FhirInteraction:
    return FhirInteraction(resource.value, "read", profile=AS_PROFILE[resource])


class SearchBudget(DependencyProvider):
    """The time one search may take (``MAILLAGE_SEARCH_TIMEOUT_MS``), in seconds, read once at start."""

    def setup(self) -> None:
        self.seconds = settings_of(self.container).search_timeout_ms / 1000

    def get_dependency(self, worker_ctx: Any) -> float:
        return self.seconds


class FhirRoutes:
    db: Any
    search_budget = SearchBudget()

    @http("GET", "/fhir/Practitioner", fhir=_search(PRACTITIONER))
    def search_practitioners(self, request: Any) -> Response:
        return self._searchset(request, PRACTITIONER)

    @http("GET", "/fhir/PractitionerRole", fhir=_search(ROLE))
    def search_practitioner_roles(self, request: Any) -> Response:
        return self._searchset(request, ROLE)

    @http("GET", "/fhir/Organization", fhir=_search(ORGANIZATION))
    def search_organizations(self, request: Any) -> Response:
        return self._searchset(request, ORGANIZATION)

    @http("GET", "/fhir/Practitioner/<resource_id>", fhir=_read(PRACTITIONER))
    def read_practitioner(self, request: Any, resource_id: str) -> Response:
        return fhir_json(resource_of(handlers.read_practitioner(resource_id, read=self._reader())))

    @http("GET", "/fhir/PractitionerRole/<resource_id>", fhir=_read(ROLE))
    def read_practitioner_role(self, request: Any, resource_id: str) -> Response:
        return fhir_json(resource_of(handlers.read_role(resource_id, read=self._reader())))

    @http("GET", "/fhir/Organization/<resource_id>", fhir=_read(ORGANIZATION))
    def read_organization(self, request: Any, resource_id: str) -> Response:
        return fhir_json(resource_of(handlers.read_organisation(resource_id, read=self._reader())))

    def _searchset(self, request: Any, resource: Resource) -> Response:
        lenient = is_lenient(request.headers.get("Prefer"))
        query = parse_search(resource, request.args.items(multi=True), lenient=lenient)
        page = handlers.search(query, read=self._reader(), budget_seconds=self.search_budget)
        return fhir_json(searchset(query, page, public_base_url(request) + "/fhir", resource_of))

    def _reader(self) -> Reader:
        return reader(self.db.engine)
