"""FHIR R4 search and read of Practitioner, PractitionerRole and Organization under /fhir."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.directory.adapters.connections import Reader, reader
from services.directory.adapters.fhir_bundle import searchset
from services.directory.adapters.fhir_capability import READ, SEARCH
from services.directory.adapters.fhir_params import is_lenient, parse_search
from services.directory.adapters.fhir_resources import resource_of
from services.directory.domain.search import Resource
from services.directory.handlers import search as handlers
from services.directory.settings import read_directory_settings
from services.shared.fhir.negotiation import check_accept, read_options
from services.shared.web import fhir_json, http, public_base_url
from services.shared.web.responses import UnsupportedMediaType

PRACTITIONER, ROLE, ORGANIZATION = Resource.PRACTITIONER, Resource.ROLE, Resource.ORGANIZATION
_FORM = "application/x-www-form-urlencoded"
# POST [type]/_search: the most a query may hold (30 parameters of 4,096 characters), form-encoded
SEARCH_BODY_BYTES = 256 * 1024


class SearchBudget(DependencyProvider):
    """The time one search may take (``MAILLAGE_SEARCH_TIMEOUT_MS``), in seconds, read once at start."""

    def setup(self) -> None:
        self.seconds = read_directory_settings().search_timeout_ms / 1000

    def get_dependency(self, worker_ctx: Any) -> float:
        return self.seconds


class FhirRoutes:
    db: Any
    search_budget = SearchBudget()

    @http("GET", "/fhir/Practitioner", fhir=SEARCH[PRACTITIONER])
    def search_practitioners(self, request: Any) -> Response:
        return self._searchset(request, PRACTITIONER, request.args.items(multi=True))

    @http("GET", "/fhir/PractitionerRole", fhir=SEARCH[ROLE])
    def search_practitioner_roles(self, request: Any) -> Response:
        return self._searchset(request, ROLE, request.args.items(multi=True))

    @http("GET", "/fhir/Organization", fhir=SEARCH[ORGANIZATION])
    def search_organizations(self, request: Any) -> Response:
        return self._searchset(request, ORGANIZATION, request.args.items(multi=True))

    @http("POST", "/fhir/Practitioner/_search", fhir=SEARCH[PRACTITIONER], max_body_bytes=SEARCH_BODY_BYTES)
    def post_search_practitioners(self, request: Any) -> Response:
        return self._searchset(request, PRACTITIONER, _posted(request))

    @http("POST", "/fhir/PractitionerRole/_search", fhir=SEARCH[ROLE], max_body_bytes=SEARCH_BODY_BYTES)
    def post_search_practitioner_roles(self, request: Any) -> Response:
        return self._searchset(request, ROLE, _posted(request))

    @http("POST", "/fhir/Organization/_search", fhir=SEARCH[ORGANIZATION], max_body_bytes=SEARCH_BODY_BYTES)
    def post_search_organizations(self, request: Any) -> Response:
        return self._searchset(request, ORGANIZATION, _posted(request))

    @http("GET", "/fhir/Practitioner/<resource_id>", fhir=READ[PRACTITIONER])
    def read_practitioner(self, request: Any, resource_id: str) -> Response:
        pretty = read_options(request.headers.get("Accept"), request.args.items(multi=True))
        return fhir_json(resource_of(handlers.read_practitioner(resource_id, read=self._reader())), pretty=pretty)

    @http("GET", "/fhir/PractitionerRole/<resource_id>", fhir=READ[ROLE])
    def read_practitioner_role(self, request: Any, resource_id: str) -> Response:
        pretty = read_options(request.headers.get("Accept"), request.args.items(multi=True))
        return fhir_json(resource_of(handlers.read_role(resource_id, read=self._reader())), pretty=pretty)

    @http("GET", "/fhir/Organization/<resource_id>", fhir=READ[ORGANIZATION])
    def read_organization(self, request: Any, resource_id: str) -> Response:
        pretty = read_options(request.headers.get("Accept"), request.args.items(multi=True))
        return fhir_json(resource_of(handlers.read_organisation(resource_id, read=self._reader())), pretty=pretty)

    def _searchset(self, request: Any, resource: Resource, args: Iterable[tuple[str, str]]) -> Response:
        check_accept(request.headers.get("Accept"))
        lenient = is_lenient(request.headers.get("Prefer"))
        query = parse_search(resource, args, lenient=lenient)
        page = handlers.search(query, read=self._reader(), budget_seconds=self.search_budget)
        bundle = searchset(query, page, public_base_url(request) + "/fhir", resource_of)
        return fhir_json(bundle, pretty=query.pretty)

    def _reader(self) -> Reader:
        return reader(self.db.engine)


def _posted(request: Any) -> list[tuple[str, str]]:
    """POST [type]/_search: the parameters of the URL and of the form-encoded body, the same as a GET's."""
    if request.content_length and request.mimetype != _FORM:
        raise UnsupportedMediaType(f"Send the search parameters as {_FORM}, not "
                                   f"{request.mimetype or 'without a Content-Type'}.", expression="Content-Type")
    return [*request.args.items(multi=True), *request.form.items(multi=True)]
