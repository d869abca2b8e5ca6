"""The CapabilityStatement and OpenAPI document say exactly what the routes declare."""
from __future__ import annotations

from dataclasses import dataclass

import pydantic
import pytest

from services.shared.web.capabilities import (
    ApiOperation,
    FhirInteraction,
    SearchParam,
    capability_statement,
    openapi_document,
    openapi_path,
)


@dataclass
class FakeRoute:
    method: str
    url: str
    public: bool = False
    fhir: FhirInteraction | None = None
    api: ApiOperation | None = None
    method_name: str | None = None


class Recipient(pydantic.BaseModel):
    address: str


class SendMessage(pydantic.BaseModel):
    subject: str
    recipients: list[Recipient]


ROUTES = [
    FakeRoute("GET", "/fhir/Practitioner", fhir=FhirInteraction(
        "Practitioner", "search-type",
        (SearchParam("identifier", "token", "RPPS number"), SearchParam("name", "string")),
    )),
    FakeRoute("GET", "/fhir/Practitioner/<id>", fhir=FhirInteraction("Practitioner", "read")),
    FakeRoute("POST", "/fhir/Communication", fhir=FhirInteraction(
        "Communication", "create", profile="https://maillage.example/StructureDefinition/message")),
    FakeRoute("POST", "/fhir", fhir=FhirInteraction("Bundle", "transaction")),
    FakeRoute("POST", "/api/v1/messages", method_name="send_message", api=ApiOperation(
        "Send a secure message", request_schema=SendMessage.model_json_schema(),
        response_schema={"type": "object", "properties": {"id": {"type": "string"}}},
        responses={201: "Accepted for delivery"},
    )),
    FakeRoute("GET", "/api/v1/mailboxes/<int:box>/messages/<uuid:message_id>", method_name="read_message"),
    FakeRoute("GET", "/api/v1/status", public=True, method_name="status"),
    FakeRoute("GET", "/healthz-ish", method_name="not_documented"),
]


def test_capability_statement_lists_exactly_the_registered_interactions():
    statement = capability_statement(ROUTES, "http://127.0.0.1:8080/fhir", date="2025-01-01", declared=())

    rest = statement["rest"][0]
    assert {r["type"]: [i["code"] for i in r["interaction"]] for r in rest["resource"]} == {
        "Communication": ["create"],
        "Practitioner": ["read", "search-type"],
    }
    practitioner = next(r for r in rest["resource"] if r["type"] == "Practitioner")
    assert practitioner["searchParam"] == [
        {"name": "identifier", "type": "token", "documentation": "RPPS number"},
        {"name": "name", "type": "string"},
    ]
    communication = next(r for r in rest["resource"] if r["type"] == "Communication")
    assert communication["profile"].endswith("/message") and "searchParam" not in communication
    assert rest["interaction"] == [{"code": "transaction"}]
    assert rest["security"]["service"][0]["coding"][0]["code"] == "OAuth"
    assert (statement["status"], statement["kind"], statement["fhirVersion"]) == ("active", "instance", "4.0.1")
    assert statement["implementation"]["url"] == "http://127.0.0.1:8080/fhir"


def test_capability_statement_is_a_valid_fhir_resource():
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    CapabilityStatement.model_validate(capability_statement(ROUTES, "http://h/fhir"))


def test_without_fhir_routes_there_is_no_empty_resource_list():
    rest = capability_statement([ROUTES[4]], "http://h/fhir", declared=())["rest"][0]
    assert "resource" not in rest and "interaction" not in rest


def test_declaring_an_unknown_interaction_or_search_type_fails_at_once():
    with pytest.raises(ValueError, match="not a FHIR R4 RESTful interaction"):
        FhirInteraction("Patient", "search")
    with pytest.raises(ValueError, match="unknown type"):
        SearchParam("name", "text")


def test_openapi_paths_come_from_api_routes_only_with_typed_path_parameters():
    document = openapi_document(ROUTES)

    assert sorted(document["paths"]) == [
        "/api/v1/mailboxes/{box}/messages/{message_id}", "/api/v1/messages", "/api/v1/status",
    ]
    read = document["paths"]["/api/v1/mailboxes/{box}/messages/{message_id}"]["get"]
    assert [(p["name"], p["schema"]) for p in read["parameters"]] == [
        ("box", {"type": "integer"}), ("message_id", {"type": "string", "format": "uuid"}),
    ]
    assert document["paths"]["/api/v1/status"]["get"]["security"] == []
    assert read["security"] == [{"bearerAuth": []}]


def test_openapi_hoists_pydantic_definitions_so_refs_resolve():
    document = openapi_document(ROUTES)

    send = document["paths"]["/api/v1/messages"]["post"]
    assert send["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SendMessage"
    }
    schemas = document["components"]["schemas"]
    assert schemas["SendMessage"]["properties"]["recipients"]["items"] == {"$ref": "#/components/schemas/Recipient"}
    assert "Recipient" in schemas and "$defs" not in schemas["SendMessage"]
    assert send["responses"]["201"]["description"] == "Accepted for delivery"
    assert send["responses"]["default"] == {"$ref": "#/components/responses/Problem"}
    problem = document["components"]["responses"]["Problem"]["content"]
    assert "application/problem+json" in problem


def test_openapi_document_validates_against_the_3_1_specification():
    validator = pytest.importorskip("openapi_spec_validator")

    validator.validate(openapi_document(ROUTES))


def test_werkzeug_rules_become_openapi_paths():
    assert openapi_path("/api/v1/x/<path:rest>/<y>")[0] == "/api/v1/x/{rest}/{y}"
