"""The OpenAPI document states the rules the routes apply: path parameters typed by their name, query
parameters the routes declare, identifier schemas that a client (or Schemathesis) can build valid values from."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from services.shared.web.capabilities import (
    FINESS,
    IDNPS_OR_RPPS,
    INS,
    INSEE_COMMUNE,
    MAIL_ADDRESS,
    PATH_PARAMETERS,
    POSTAL_CODE,
    RPPS,
    ApiOperation,
    ApiParam,
    FhirInteraction,
    openapi_document,
)


@dataclass(frozen=True)
class Route:
    method: str
    url: str
    public: bool = False
    fhir: FhirInteraction | None = None
    api: ApiOperation | None = None
    method_name: str | None = None


def parameters(document: dict, path: str, method: str = "get") -> dict[tuple[str, str], dict]:
    return {(p["name"], p["in"]): p for p in document["paths"][path][method].get("parameters", [])}


def test_a_path_parameter_is_typed_by_its_name_and_a_converter_or_a_declaration_wins() -> None:
    document = openapi_document([
        Route("GET", "/api/v1/mailboxes/<address>/messages/<message_id>", method_name="read"),
        Route("GET", "/api/v1/things/<int:finess>", method_name="thing"),
        Route("GET", "/api/v1/other/<ins>", method_name="other",
              api=ApiOperation("other", parameters=(ApiParam("ins", {"type": "string", "maxLength": 3},
                                                             location="path"),))),
        Route("GET", "/api/v1/free/<anything>", method_name="free"),
    ])
    read = parameters(document, "/api/v1/mailboxes/{address}/messages/{message_id}")
    assert read[("address", "path")]["schema"]["pattern"] == MAIL_ADDRESS["pattern"]
    assert read[("message_id", "path")]["schema"] == {"type": "string", "format": "uuid"}
    assert all(p["required"] for p in read.values())
    assert parameters(document, "/api/v1/things/{finess}")[("finess", "path")]["schema"] == {"type": "integer"}
    assert parameters(document, "/api/v1/other/{ins}")[("ins", "path")]["schema"] == {"type": "string", "maxLength": 3}
    assert parameters(document, "/api/v1/free/{anything}")[("anything", "path")]["schema"] == {"type": "string"}


def test_declared_query_parameters_are_listed_with_their_constraints() -> None:
    operation = ApiOperation("list", parameters=(
        ApiParam("limit", {"type": "integer", "minimum": 1, "maximum": 200}, description="50 by default"),
        ApiParam("folder", {"type": "string", "enum": ["inbox", "sent"]}, required=True)))
    document = openapi_document([Route("GET", "/api/v1/mailboxes/<address>/messages", api=operation,
                                       method_name="list")])
    listed = parameters(document, "/api/v1/mailboxes/{address}/messages")
    assert listed[("limit", "query")] == {"name": "limit", "in": "query", "required": False, "description":
                                          "50 by default", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}
    assert listed[("folder", "query")]["required"] is True
    assert ("address", "path") in listed


def test_a_parameter_location_must_be_one_openapi_knows() -> None:
    with pytest.raises(ValueError, match="location"):
        ApiParam("x", {"type": "string"}, location="body")


@pytest.mark.parametrize(("schema", "valid", "invalid"), [
    (MAIL_ADDRESS, ["prenom.nom@medecin.mssante.fr", "A.B+tag@Hopital-Nord.FR"],
     ["0@0.0", "a..b@x.fr", ".a@x.fr", "a@-x.fr", "a@x", "a b@x.fr", "a@x.fr\n"]),
    (RPPS, ["10001045367"], ["1000104536", "1000104536a", "١٠٠٠١٠٤٥٣٦٧"]),
    (IDNPS_OR_RPPS, ["10001045367", "810001045367", "0123456789"], ["910001045367", "01234567"]),
    (FINESS, ["750712184", "2A0000123"], ["75071218", "75071218é"]),
    (INS, ["100000000000047", "1850575123456xx".replace("xx", "12"), "217022A123456" + "12"],
     ["500000000000047", "10000000000004", "1000000000000A7"]),
    (POSTAL_CODE, ["75012"], ["7501", "2A000"]),
    (INSEE_COMMUNE, ["75112", "2A004"], ["2C004", "7511"]),
])
def test_identifier_patterns_take_what_the_routes_take_and_only_that(schema, valid, invalid) -> None:  # type: ignore[no-untyped-def]
    # JSON Schema patterns are searched, ECMA-262 style: anchored with ^ and $, without Python's \Z.
    assert schema["pattern"].startswith("^") and schema["pattern"].endswith("$")
    pattern = re.compile(schema["pattern"][:-1] + r"\Z")
    assert [value for value in valid if not pattern.search(value)] == []
    assert [value for value in invalid if pattern.search(value)] == []


def test_every_path_parameter_schema_is_a_string_schema() -> None:
    assert {name: schema["type"] for name, schema in PATH_PARAMETERS.items()} == dict.fromkeys(PATH_PARAMETERS,
                                                                                              "string")
