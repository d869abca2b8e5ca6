"""The CapabilityStatement read as a client reads it: every search parameter it advertises works over HTTP,
the result parameters it names too, whichever service's interactions it lists; what clients send
(POST _search, _format, Accept, _pretty) answered as FHIR says."""
from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

from tests.integration.directory.conftest import Directory
from tests.support.platform import eventually
from tests.unit.directory.directory_world import CAB_BOX, HOSPITAL_FINESS, JEANNE, LUC

pytestmark = pytest.mark.integration
FHIR_JSON = "application/fhir+json; charset=utf-8"
# A value that matches something in the seeded directory, for every parameter a search may advertise.
SAMPLES: dict[tuple[str, str], str] = {
    ("Practitioner", "identifier"): f"https://rpps.esante.gouv.fr|{JEANNE.rpps}",
    ("Practitioner", "family"): "martin", ("Practitioner", "given"): "jeanne", ("Practitioner", "name"): "martin",
    ("Practitioner", "active"): "true", ("Practitioner", "mailbox-mss"): CAB_BOX,
    ("Practitioner", "qualification-code"): "10", ("Practitioner", "address-postalcode"): "75011",
    ("Practitioner", "_id"): f"8{JEANNE.rpps}", ("Practitioner", "_lastUpdated"): "ge2000-01-01",
    ("PractitionerRole", "practitioner"): f"Practitioner/8{JEANNE.rpps}",
    ("PractitionerRole", "organization"): f"Organization/F{HOSPITAL_FINESS}",
    ("PractitionerRole", "role"): "10", ("PractitionerRole", "specialty"): "SM53",
    ("PractitionerRole", "address-postalcode"): "75011", ("PractitionerRole", "address-city"): "paris",
    ("PractitionerRole", "mailbox-mss"): CAB_BOX, ("PractitionerRole", "_lastUpdated"): "gt2000",
    ("Organization", "identifier"): HOSPITAL_FINESS, ("Organization", "name"): "hopital",
    ("Organization", "type"): "hospital", ("Organization", "address-postalcode"): "34",
    ("Organization", "address-city"): "montpellier", ("Organization", "partof"): f"Organization/F{HOSPITAL_FINESS}",
    ("Organization", "_id"): f"F{HOSPITAL_FINESS}", ("Organization", "_lastUpdated"): "le2999",
}


def statement(directory: Directory) -> dict[str, Any]:
    with directory.client(token=False) as anonymous:
        answer = anonymous.get("/fhir/metadata")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def resources(directory: Directory) -> dict[str, dict[str, Any]]:
    return {entry["type"]: entry for entry in statement(directory)["rest"][0]["resource"]}


def test_the_statement_lists_every_service_and_the_version(directory: Directory) -> None:
    found = statement(directory)
    assert found["software"]["version"] == importlib.metadata.version("maillage")
    listed = resources(directory)
    # only the directory runs here; messaging's Communication is listed from its declarations
    assert [i["code"] for i in listed["Communication"]["interaction"]] == ["create"]
    assert {"Practitioner", "PractitionerRole", "Organization"} <= set(listed)


def test_every_advertised_search_parameter_works(directory: Directory) -> None:
    tried = 0
    with directory.client(rpps=LUC.rpps) as client:
        roles = client.get("/fhir/PractitionerRole", params={"practitioner": f"Practitioner/8{JEANNE.rpps}"}).json()
        samples = {**SAMPLES, ("PractitionerRole", "_id"): roles["entry"][0]["resource"]["id"]}
        for name, entry in resources(directory).items():
            for param in entry.get("searchParam", ()):
                value = samples[(name, param["name"])]  # a KeyError: a parameter advertised and never tried
                answer = client.get(f"/fhir/{name}", params={param["name"]: value})
                assert answer.status_code == 200, (name, param["name"], answer.text)
                # cities are searched through places refreshed on directory.imported, which the relay sends
                url, query = f"/fhir/{name}", {param["name"]: value}
                assert eventually(lambda u=url, q=query: client.get(u, params=q).json()["total"] >= 1), url
                tried += 1
    assert tried == len(samples)


def test_the_result_parameters_the_statement_names_work(directory: Directory) -> None:
    listed = resources(directory)
    with directory.client(rpps=LUC.rpps) as client:
        for name in ("Practitioner", "PractitionerRole", "Organization"):
            documentation = listed[name]["documentation"]
            sorts = documentation.partition("_sort (")[2].partition(";")[0].split(", ")
            assert sorts and all(sorts)
            for sort in sorts:
                for order in (sort, f"-{sort}"):
                    answer = client.get(f"/fhir/{name}", params={"_sort": order, "_count": 3})
                    assert answer.status_code == 200, (name, order, answer.text)
            for params in ({"_summary": "count"}, {"_elements": "id"}, {"_total": "accurate"},
                           {"_totalMethod": "count"}, {"_count": 0}, {"_offset": 1, "_count": 1}, {"_format": "json"},
                           {"_pretty": "true"}):
                assert client.get(f"/fhir/{name}", params=params).status_code == 200, (name, params)
            posted = client.post(f"/fhir/{name}/_search", data={"_count": "2"})
            assert posted.status_code == 200 and posted.json()["type"] == "searchset"
        for include in listed["PractitionerRole"]["searchInclude"]:
            answer = client.get("/fhir/PractitionerRole", params={"practitioner": f"Practitioner/8{JEANNE.rpps}",
                                                                  "_include": include})
            assert any(e["search"]["mode"] == "include" for e in answer.json()["entry"]), include


def test_post_search_answers_as_the_get(directory: Directory) -> None:
    query = {"family": "martin", "_count": "3", "_sort": "-given"}
    with directory.client(rpps=LUC.rpps) as client:
        got = client.get("/fhir/Practitioner", params=query).json()
        posted = client.post("/fhir/Practitioner/_search", data=query)
        assert (posted.status_code, posted.headers["content-type"]) == (200, FHIR_JSON)
        assert [e["fullUrl"] for e in posted.json()["entry"]] == [e["fullUrl"] for e in got["entry"]]
        assert posted.json()["total"] == got["total"] and posted.json()["link"] == got["link"]
        split = client.post("/fhir/Practitioner/_search?family=martin", data={"_count": "3", "_sort": "-given"})
        assert split.json()["link"] == got["link"]
        json_body = client.post("/fhir/Practitioner/_search", json=query)
        assert json_body.status_code == 415
        bad = client.post("/fhir/Practitioner/_search", data={"colour": "blue"})
        assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["colour"]


@pytest.mark.parametrize("params, headers", [
    ({"_format": "xml"}, {}), ({"_format": "application/fhir+xml"}, {}), ({}, {"Accept": "application/fhir+xml"}),
])
def test_xml_is_a_406_operation_outcome(directory: Directory, params: dict[str, str], headers: dict[str, str]) -> None:
    with directory.client(rpps=LUC.rpps) as client:
        for path in ("/fhir/Practitioner", f"/fhir/Practitioner/8{JEANNE.rpps}"):
            answer = client.get(path, params={"family": "martin", **params} if path.endswith("r") else params,
                                headers=headers)
            assert (answer.status_code, answer.headers["content-type"]) == (406, FHIR_JSON), path
            assert answer.json()["resourceType"] == "OperationOutcome"


def test_pretty_and_json_formats(directory: Directory) -> None:
    with directory.client(rpps=LUC.rpps) as client:
        for fmt in ("json", "application/json", "application/fhir+json"):
            answer = client.get("/fhir/Practitioner", params={"_id": f"8{JEANNE.rpps}", "_format": fmt},
                                headers={"Accept": "application/fhir+json"})
            assert answer.status_code == 200 and "\n" not in answer.text
        pretty = client.get(f"/fhir/Practitioner/8{JEANNE.rpps}", params={"_pretty": "true"})
        assert pretty.status_code == 200 and pretty.text.startswith('{\n  "resourceType"')
