"""What the HTTP routes declare, and the FHIR CapabilityStatement and OpenAPI document built from it."""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

RESOURCE_INTERACTIONS = (
    "read", "vread", "update", "patch", "delete",
    "history-instance", "history-type", "create", "search-type",
)
SYSTEM_INTERACTIONS = ("transaction", "batch", "search-system", "history-system")
SEARCH_PARAM_TYPES = (
    "number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special",
)
API_PREFIX = "/api/v1"
_SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/restful-security-service"
_PATH_PARAM = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTER_SCHEMAS = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "expression": {"type": "string", "description": "The offending field, when known."},
        "error_id": {"type": "string", "description": "Quote it to the operator (500 only)."},
    },
    "required": ["type", "title", "status"],
}


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str | None = None

    def __post_init__(self) -> None:
        if self.type not in SEARCH_PARAM_TYPES:
            raise ValueError(f"Search parameter {self.name!r} has unknown type {self.type!r}.")


@dataclass(frozen=True)
class FhirInteraction:
    """One FHIR RESTful interaction a route implements; system-level ones ignore `resource`."""

    resource: str
    interaction: str
    search_params: tuple[SearchParam, ...] = ()
    profile: str | None = None
    search_includes: tuple[str, ...] = ()  # the _include values a search-type accepts

    def __post_init__(self) -> None:
        if self.interaction not in RESOURCE_INTERACTIONS + SYSTEM_INTERACTIONS:
            raise ValueError(f"{self.interaction!r} is not a FHIR R4 RESTful interaction.")


@dataclass(frozen=True)
class ApiOperation:
    """OpenAPI description of an /api/v1 route; schemas are JSON Schema (e.g. Model.model_json_schema())."""

    summary: str
    request_schema: Mapping[str, Any] | None = None
    response_schema: Mapping[str, Any] | None = None
    responses: Mapping[int, str] = field(default_factory=lambda: {200: "Success"})


class Route(Protocol):
    """What the documents need from a registered HTTP entrypoint."""

    method: str
    url: str
    public: bool
    fhir: FhirInteraction | None
    api: ApiOperation | None
    method_name: str | None


def capability_statement(
    providers: Iterable[Route], base_url: str, *, date: str | None = None
) -> dict[str, Any]:
    """A FHIR R4 CapabilityStatement listing exactly the registered FHIR interactions."""
    interactions: dict[str, set[str]] = {}
    params: dict[str, dict[str, SearchParam]] = {}
    includes: dict[str, dict[str, None]] = {}
    profiles: dict[str, str] = {}
    system: set[str] = set()
    for route in providers:
        declared = route.fhir
        if declared is None:
            continue
        if declared.interaction in SYSTEM_INTERACTIONS:
            system.add(declared.interaction)
            continue
        interactions.setdefault(declared.resource, set()).add(declared.interaction)
        for param in declared.search_params:
            params.setdefault(declared.resource, {})[param.name] = param
        for include in declared.search_includes:
            includes.setdefault(declared.resource, {})[include] = None
        if declared.profile:
            profiles.setdefault(declared.resource, declared.profile)
    rest: dict[str, Any] = {"mode": "server", "security": _fhir_security()}
    resources = [
        _resource_entry(name, interactions[name], params.get(name, {}), profiles.get(name),
                        tuple(includes.get(name, ())))
        for name in sorted(interactions)
    ]
    if resources:
        rest["resource"] = resources
    if system:
        rest["interaction"] = [{"code": code} for code in SYSTEM_INTERACTIONS if code in system]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date or datetime.now(UTC).date().isoformat(),
        "publisher": "Maillage",
        "kind": "instance",
        "software": {"name": "Maillage"},
        "implementation": {"description": "Maillage FHIR endpoint", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [rest],
    }


def _fhir_security() -> dict[str, Any]:
    return {
        "service": [{"coding": [{"system": _SECURITY_SYSTEM, "code": "OAuth", "display": "OAuth"}]}],
        "description": "OAuth2 bearer tokens (JWT) from the configured issuer - Pro Santé Connect "
        "in production - sent as 'Authorization: Bearer <token>'.",
    }


def _resource_entry(
    name: str, codes: set[str], params: Mapping[str, SearchParam], profile: str | None,
    includes: tuple[str, ...] = (),
) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": name}
    if profile:
        entry["profile"] = profile
    entry["interaction"] = [{"code": code} for code in RESOURCE_INTERACTIONS if code in codes]
    if includes:
        entry["searchInclude"] = list(includes)
    if params:
        entry["searchParam"] = [_search_param(params[key]) for key in sorted(params)]
    return entry


def _search_param(param: SearchParam) -> dict[str, str]:
    out = {"name": param.name, "type": param.type}
    if param.documentation:
        out["documentation"] = param.documentation
    return out


def openapi_document(providers: Iterable[Route], *, version: str = "1.0.0") -> dict[str, Any]:
    """An OpenAPI 3.1 document of the registered /api/v1 routes."""
    schemas: dict[str, Any] = {"Problem": copy.deepcopy(PROBLEM_SCHEMA)}
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    routes = [route for route in providers if route.url.startswith(API_PREFIX)]
    for route in sorted(routes, key=lambda r: (r.url, r.method)):
        path, parameters = openapi_path(route.url)
        for method in route.method.split(","):
            operation = _operation(route, method.strip().lower(), parameters, schemas)
            # operationId must be unique in the document; two services may share a method name
            while operation["operationId"] in used:
                operation["operationId"] += "_"
            used.add(operation["operationId"])
            paths.setdefault(path, {})[method.strip().lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Maillage API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Problem": {
                "description": "The request failed; the body says why.",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def openapi_path(url: str) -> tuple[str, list[dict[str, Any]]]:
    """Turn a werkzeug rule (`/x/<int:id>`) into an OpenAPI path (`/x/{id}`) and its parameters."""
    parameters = [
        {"name": m["name"], "in": "path", "required": True,
         "schema": dict(_CONVERTER_SCHEMAS.get(m["converter"] or "", {"type": "string"}))}
        for m in _PATH_PARAM.finditer(url)
    ]
    return _PATH_PARAM.sub(lambda m: "{" + m["name"] + "}", url), parameters


def _operation(route: Route, method: str, parameters: list[dict[str, Any]], schemas: dict[str, Any]) -> dict[str, Any]:
    api = route.api
    operation: dict[str, Any] = {
        "operationId": route.method_name or f"{method}_route",
        "summary": api.summary if api else (route.method_name or route.url),
        "security": [] if route.public else [{"bearerAuth": []}],
    }
    if parameters:
        operation["parameters"] = parameters
    if api and api.request_schema:
        schema = _hoist(api.request_schema, schemas)
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {}
    for status, description in sorted((api.responses if api else {200: "Success"}).items()):
        responses[str(status)] = {"description": description}
        if api and api.response_schema and 200 <= status < 300 and status != 204:
            schema = _hoist(api.response_schema, schemas)
            responses[str(status)]["content"] = {"application/json": {"schema": schema}}
    responses["default"] = {"$ref": "#/components/responses/Problem"}
    operation["responses"] = responses
    return operation


def _hoist(schema: Mapping[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Move pydantic's `$defs` and titled schemas into components so every `$ref` resolves."""
    body: dict[str, Any] = _rewrite_refs(copy.deepcopy(dict(schema)))
    for name, definition in body.pop("$defs", {}).items():
        schemas[name] = definition
    title = body.get("title")
    if isinstance(title, str) and re.fullmatch(r"[\w.-]+", title):
        schemas[title] = body
        return {"$ref": f"#/components/schemas/{title}"}
    return body


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (value.replace("#/$defs/", "#/components/schemas/", 1)
                  if key == "$ref" and isinstance(value, str) else _rewrite_refs(value))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node
