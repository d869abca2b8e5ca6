"""What the HTTP routes declare, and the OpenAPI document built from it (the FHIR CapabilityStatement is
assembled by ``services.shared.fhir.capability``, re-exported here)."""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# re-exported: routes declare their FHIR interactions with these, the edge serves the statement
from services.shared.fhir.capability import FhirInteraction as FhirInteraction
from services.shared.fhir.capability import SearchParam as SearchParam
from services.shared.fhir.capability import capability_statement as capability_statement

API_PREFIX = "/api/v1"
_PATH_PARAM = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTER_SCHEMAS = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}
# What the API's identifiers look like, so that the OpenAPI document states the rules the routes apply
# (and a client, or Schemathesis, can build valid requests). A pattern cannot carry a check key: the
# identifiers that have one (RPPS: Luhn; INS: 97 - NIR mod 97) also name a ``format`` saying so.
# (These schemas carry no description: a field or parameter using one says what it is for.)
MAIL_ADDRESS: Mapping[str, Any] = {
    "type": "string", "maxLength": 254, "format": "mailbox-address",
    "pattern": r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
               r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$",
}
RPPS: Mapping[str, Any] = {"type": "string", "pattern": "^[0-9]{11}$", "format": "rpps"}
IDNPS_OR_RPPS: Mapping[str, Any] = {"type": "string", "pattern": "^([0-9]{11}|8[0-9]{11}|0[0-9]{9})$",
                                    "format": "idnps"}
FINESS: Mapping[str, Any] = {"type": "string", "pattern": "^[0-9A-Za-z]{9}$"}
INS: Mapping[str, Any] = {"type": "string", "pattern": "^[1-478][0-9]{4}([0-9]{2}|2[ABab])[0-9]{8}$", "format": "ins"}
UUID: Mapping[str, Any] = {"type": "string", "format": "uuid"}
FINGERPRINT: Mapping[str, Any] = {"type": "string", "pattern": "^[0-9A-Fa-f]{64}$"}
POSTAL_CODE: Mapping[str, Any] = {"type": "string", "pattern": "^[0-9]{5}$"}
# Text the API trims before use (pydantic's str_strip_whitespace, i.e. Python's str.strip): at least one
# character that is not white space as Python counts it (more than ECMA-262's \s: \x1c-\x1f, \x85).
NOT_BLANK = (r"[^\t\n\u000b\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
             r"\u3000]")
INSEE_COMMUNE: Mapping[str, Any] = {"type": "string", "pattern": "^([0-9]{2}|2A|2B)[0-9]{3}$"}


def _described(schema: Mapping[str, Any], text: str) -> Mapping[str, Any]:
    return {**schema, "description": text}


# A path parameter's name means the same thing on every route: its schema is declared once, here
# (an ``ApiParam(..., location="path")`` on a route overrides it).
PATH_PARAMETERS: Mapping[str, Mapping[str, Any]] = {
    "address": _described(MAIL_ADDRESS, "A mailbox address (name@domain), compared in lower case."),
    "message_id": UUID,
    "enrolment_id": {"type": "string", "pattern": "^enr-[0-9a-f]{32}$", "description": "As the enrolment answered."},
    "finess": _described(FINESS, "A FINESS number: 9 letters or digits."),
    "ins": _described(INS, "A patient's INS: the 13-character NIR (2A/2B for a birth in Corsica) and its "
                           "2-digit key (97 - NIR mod 97)."),
    "fingerprint": _described(FINGERPRINT, "SHA-256 of the certificate's DER, in hex."),
    "identifier": _described(IDNPS_OR_RPPS, "An RPPS number (11 digits, the last a Luhn check digit), or an "
                                            "IDNPS: 8 and an RPPS number, or 0 and an ADELI number."),
    "rpps": _described(RPPS, "An RPPS number: 11 digits, the last a Luhn check digit."),
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
class ApiParam:
    """A query (or path) parameter of an /api/v1 route, as the route parses it."""

    name: str
    schema: Mapping[str, Any]
    location: str = "query"
    required: bool = False
    description: str | None = None

    def __post_init__(self) -> None:
        if self.location not in ("query", "path", "header"):
            raise ValueError(f"Parameter {self.name!r} has unknown location {self.location!r}.")


@dataclass(frozen=True)
class ApiOperation:
    """OpenAPI description of an /api/v1 route; schemas are JSON Schema (e.g. Model.model_json_schema())."""

    summary: str
    request_schema: Mapping[str, Any] | None = None
    response_schema: Mapping[str, Any] | None = None
    responses: Mapping[int, str] = field(default_factory=lambda: {200: "Success"})
    parameters: tuple[ApiParam, ...] = ()


class Route(Protocol):
    """What the documents need from a registered HTTP entrypoint."""

    method: str
    url: str
    public: bool
    fhir: FhirInteraction | None
    api: ApiOperation | None
    method_name: str | None


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
    """Turn a werkzeug rule (`/x/<int:id>`) into an OpenAPI path (`/x/{id}`) and its parameters: a
    converter's type, else what ``PATH_PARAMETERS`` says of the name, else any string."""
    parameters = [
        {"name": m["name"], "in": "path", "required": True,
         "schema": copy.deepcopy(dict(_CONVERTER_SCHEMAS.get(m["converter"] or "")
                                      or PATH_PARAMETERS.get(m["name"], {"type": "string"})))}
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
    parameters = _with_declared(parameters, api.parameters if api else ())
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


def _with_declared(path: list[dict[str, Any]], declared: Iterable[ApiParam]) -> list[dict[str, Any]]:
    """The path's parameters, overridden or extended by what the route declares."""
    merged = {(p["name"], p["in"]): p for p in path}
    for param in declared:
        entry: dict[str, Any] = {"name": param.name, "in": param.location,
                                 "required": param.required or param.location == "path",
                                 "schema": copy.deepcopy(dict(param.schema))}
        if param.description:
            entry["description"] = param.description
        merged[(param.name, param.location)] = entry
    return list(merged.values())


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
