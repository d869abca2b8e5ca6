"""The directory over HTTP, as a running nameko service: FHIR search and read, enrolment, certificates, admin."""
from __future__ import annotations

from typing import Any

import pytest

from services.shared.bus.schemas import validate_event_body
from tests.integration.directory.conftest import Directory
from tests.support.pki import make_ca, make_identity
from tests.support.platform import Observer, eventually
from tests.unit.directory.directory_world import (
    CAB_BOX,
    CPTS_FINESS,
    HELENE,
    JEANNE,
    LUC,
    NOBODY_RPPS,
    PAUL,
    enrolment_form,
    personal_address,
)

pytestmark = pytest.mark.integration
FHIR_JSON = "application/fhir+json; charset=utf-8"
CA = make_ca("Directory HTTP CA")


def issue(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"] == FHIR_JSON
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]  # type: ignore[no-any-return]


def test_metadata_lists_exactly_our_interactions_and_readiness_is_green(directory: Directory) -> None:
    with directory.client(token=False) as anonymous:
        assert anonymous.get("/readyz").status_code == 200
        statement = anonymous.get("/fhir/metadata").json()
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    CapabilityStatement.model_validate(statement)
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    # every service's interactions, from their declarations: messaging's Communication too
    assert set(resources) == {"Practitioner", "PractitionerRole", "Organization", "Communication"}
    for name in ("Practitioner", "PractitionerRole", "Organization"):
        assert [i["code"] for i in resources[name]["interaction"]] == ["read", "search-type"]
    assert [p["name"] for p in resources["Practitioner"]["searchParam"]] == sorted([
        "identifier", "family", "given", "name", "active", "mailbox-mss", "qualification-code", "address-postalcode",
        "_id", "_lastUpdated"])
    assert resources["Organization"]["profile"].endswith("/as-dp-organization")
    assert resources["PractitionerRole"]["searchInclude"] == ["PractitionerRole:practitioner",
                                                             "PractitionerRole:organization"]
    assert "searchInclude" not in resources["Practitioner"] and "searchInclude" not in resources["Organization"]
    assert [p["name"] for p in resources["PractitionerRole"]["searchParam"]] == sorted([
        "practitioner", "organization", "role", "specialty", "address-postalcode", "address-city", "mailbox-mss",
        "_id", "_lastUpdated"])
    assert [p["name"] for p in resources["Organization"]["searchParam"]] == sorted([
        "identifier", "name", "type", "address-postalcode", "address-city", "partof", "_id", "_lastUpdated"])


def test_search_needs_a_token_but_any_valid_one(directory: Directory) -> None:
    with directory.client(token=False) as anonymous:
        assert anonymous.get("/fhir/Practitioner", params={"family": "martin"}).status_code == 401
    with directory.client(service="coordination") as machine, directory.client(rpps=LUC.rpps) as luc:
        for client in (machine, luc):
            found = client.get("/fhir/Practitioner", params={"identifier": f"https://rpps.esante.gouv.fr|{JEANNE.rpps}"})
            assert (found.status_code, found.headers["content-type"]) == (200, FHIR_JSON)
            assert found.json()["total"] == 1


def test_strict_then_lenient_parameter_handling(directory: Directory) -> None:
    with directory.client(rpps=LUC.rpps) as client:
        strict = client.get("/fhir/Practitioner", params={"family": "martin", "colour": "blue"})
        assert strict.status_code == 400 and issue(strict)["expression"] == ["colour"]
        malformed = client.get("/fhir/Practitioner", params={"identifier": "12345"})
        assert malformed.status_code == 400 and issue(malformed)["expression"] == ["identifier"]
        lenient = client.get("/fhir/Practitioner", params={"family": "martin", "colour": "blue"},
                             headers={"Prefer": "handling=lenient"})
        assert lenient.status_code == 200 and lenient.json()["entry"][-1]["search"]["mode"] == "outcome"


def test_following_next_links_walks_every_match(directory: Directory) -> None:
    with directory.client(rpps=LUC.rpps) as client:
        page = client.get("/fhir/PractitionerRole", params={"address-postalcode": "75011", "_count": 25}).json()
        total, seen = page["total"], []
        while True:
            seen += [entry["resource"]["id"] for entry in page.get("entry", [])]
            following = [link["url"] for link in page["link"] if link["relation"] == "next"]
            if not following:
                break
            page = client.get(following[0]).json()
    assert len(seen) == len(set(seen)) == total > 25


def test_include_over_http_and_read_by_id(directory: Directory) -> None:
    with directory.client(rpps=LUC.rpps) as client:
        roles = client.get("/fhir/PractitionerRole", params={
            "practitioner": f"8{PAUL.rpps}", "_include": ["PractitionerRole:practitioner",
                                                          "PractitionerRole:organization"]}).json()
        included = [e["fullUrl"] for e in roles["entry"] if e["search"]["mode"] == "include"]
        assert len(included) == 2
        for url in included + [roles["entry"][0]["fullUrl"]]:
            read = client.get(url)
            assert read.status_code == 200 and read.json()["id"] == url.rsplit("/", 1)[1]
        missing = client.get("/fhir/Organization/F000000000")
        assert missing.status_code == 404 and issue(missing)["code"] == "not-found"


def test_enrolment_over_http_with_its_event_on_the_bus(directory: Directory, observer: Observer) -> None:
    form = enrolment_form(HELENE, certificate_pem=make_identity(CA, "Helene L", email=personal_address(HELENE))
                          .cert_pem.decode())
    with directory.client(rpps=HELENE.rpps) as helene:
        created = helene.post("/api/v1/enrolments", json=form)
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"/api/v1/enrolments/{created.json()['id']}"
        assert helene.get(created.headers["location"]).json()["mailbox"] == form["mailbox"]
        again = helene.post("/api/v1/enrolments", json=form)
        assert (again.status_code, again.json()["expression"]) == (409, "rpps")
        found = helene.get("/fhir/Practitioner", params={"mailbox-mss": form["mailbox"]}).json()
        assert [e["resource"]["id"] for e in found["entry"]] == ["8" + HELENE.rpps]
    events: list[dict[str, Any]] = []
    wanted = {"professional.enrolled", "certificate.published"}
    eventually(lambda: events.extend(observer.drain()) or wanted <= {event["type"] for event in events})
    kinds = {event["type"]: event for event in events}
    assert set(kinds) == wanted
    for event in events:
        validate_event_body(event["type"], event)
    assert kinds["professional.enrolled"]["data"]["mailbox"] == form["mailbox"]


@pytest.mark.parametrize("who, changes, status, expression", [
    (PAUL, {}, 403, None),
    (JEANNE, {"rpps": "10001045368"}, 400, "rpps"),
    (None, {"rpps": NOBODY_RPPS}, 422, "rpps"),
    (JEANNE, {"given": "Jean"}, 422, "given"),
    (JEANNE, {"mailbox": CAB_BOX.upper()}, 409, "mailbox"),
    (JEANNE, {"colour": "blue"}, 400, "colour"),
])
def test_enrolment_refusals_are_problems_naming_the_field(directory: Directory, who: Any,
                                                         changes: dict[str, str], status: int,
                                                         expression: str | None) -> None:
    with directory.client(rpps=who.rpps if who else None, roles=() if who else ("admin",)) as client:
        refused = client.post("/api/v1/enrolments", json=enrolment_form(JEANNE, **changes))
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json().get("expression") == expression


def test_certificates_over_http(directory: Directory) -> None:
    weak = make_identity(CA, "Weak Paul", key_size=1024).cert_pem.decode()
    good = make_identity(CA, "Good Paul", email=CAB_BOX).cert_pem.decode()
    with directory.client(rpps=PAUL.rpps) as paul, directory.client(rpps=LUC.rpps) as luc:
        refused = paul.post("/api/v1/directory/certificates", json={"pem": weak, "mailbox": CAB_BOX})
        assert refused.status_code == 422 and "1024 bits" in refused.json()["detail"]
        assert luc.post("/api/v1/directory/certificates", json={"pem": good, "mailbox": CAB_BOX}).status_code == 403
        published = paul.post("/api/v1/directory/certificates", json={"pem": good, "mailbox": CAB_BOX})
        assert published.status_code == 201 and published.json()["status"] == "valid"
        fingerprint = published.json()["fingerprint"]
        listed = luc.get("/api/v1/directory/certificates", params={"mailbox": CAB_BOX}).json()["certificates"]
        assert fingerprint in [c["fingerprint"] for c in listed]
        assert luc.post(f"/api/v1/directory/certificates/{fingerprint}/revoke").status_code == 403
        revoked = paul.post(f"/api/v1/directory/certificates/{fingerprint}/revoke")
        assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")


def test_administration_needs_the_admin_role(directory: Directory) -> None:
    ins = "269054958815780"
    with directory.client(rpps=JEANNE.rpps) as jeanne, directory.client(roles=("admin",)) as admin:
        body = {"objects_to_exchange": True, "refuses_dmp": False}
        assert jeanne.put(f"/api/v1/directory/patients/{ins}/objection", json=body).status_code == 403
        bad = admin.put("/api/v1/directory/patients/269054958815781/objection", json=body)
        assert bad.status_code == 400 and "269054958815781" not in bad.text
        assert admin.put(f"/api/v1/directory/patients/{ins}/objection", json=body).status_code == 200
        cpts = {"finess": CPTS_FINESS, "name": "CPTS du 11e", "postal_codes": ["75011"]}
        assert jeanne.post("/api/v1/directory/cpts", json=cpts).status_code == 403
        created = admin.post("/api/v1/directory/cpts", json=cpts)
        assert created.status_code == 201 and created.headers["location"].endswith(CPTS_FINESS)
        added = admin.post(f"/api/v1/directory/cpts/{CPTS_FINESS}/members", json={"rpps": JEANNE.rpps})
        assert added.json()["members"] == ["8" + JEANNE.rpps]
        assert admin.delete(f"/api/v1/directory/cpts/{CPTS_FINESS}/members/{JEANNE.rpps}").json()["members"] == []


def test_city_search_follows_the_import_event(directory: Directory) -> None:
    """The seeded imports left directory.imported events in the outbox; the service refreshes its places."""
    with directory.client(rpps=LUC.rpps) as client:
        def montpellier() -> int:
            return int(client.get("/fhir/Organization", params={"address-city": "MONTPÉL"}).json()["total"])
        assert eventually(montpellier) >= 2


@pytest.mark.parametrize("query, expression, code", [
    ("_count=%C2%B2", "_count", "invalid"),  # '²': str.isdigit() took it, int() did not (500)
    ("_offset=%D9%A3", "_offset", "invalid"),  # Arabic-Indic 3
    ("_offset=99999999999999999999", "_offset", "too-costly"),  # past SQLite's 64-bit integers (500)
    ("family=" + ",".join(f"a{i}" for i in range(1000)), "family", "too-costly"),  # SQLite expression depth (500)
    ("identifier=" + ",".join(["10001045367"] * 600), "identifier", "too-costly"),
    ("family=ma%00rtin", "family", "invalid"),  # PostgreSQL refuses NUL in text (500)
    ("name=" + "a" * 300, "name", "invalid"),
    ("&".join(["family=ma"] * 6), "family", "too-costly"),
])
def test_hostile_searches_are_a_400_naming_the_parameter(directory: Directory, query: str, expression: str,
                                                         code: str) -> None:
    with directory.client(rpps=LUC.rpps) as client:
        for resource in ("Practitioner", "PractitionerRole", "Organization"):
            if resource != "Practitioner" and not expression.startswith("_"):
                continue  # family, name and identifier(RPPS) are Practitioner's parameters
            refused = client.get(f"/fhir/{resource}?{query}")
            assert refused.status_code == 400, refused.text
            if issue(refused)["expression"] == ["query"]:
                continue  # the edge refused the control character before the search saw it
            assert (issue(refused)["expression"], issue(refused)["code"]) == ([expression], code)
        assert client.get("/fhir/Practitioner?family=martin").status_code == 200  # and the service answers on


def test_random_query_strings_over_http_give_200_or_400(directory: Directory) -> None:
    from urllib.parse import quote

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    keys = st.sampled_from(["identifier", "family", "given", "name", "active", "mailbox-mss", "qualification-code",
                            "address-postalcode", "address-city", "practitioner", "organization", "role", "specialty",
                            "type", "partof", "partof:identifier", "family:exact", "_count", "_offset", "_total",
                            "_include"]) | st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
    texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
    piece = texts | st.integers(min_value=-5, max_value=10**22).map(str) | st.sampled_from(
        ["10001045367", "martin", "75011", "Practitioner/810001045367", "²", "٣", "PractitionerRole:organization"])
    value = piece | st.lists(piece, min_size=2, max_size=80).map(",".join)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(resource=st.sampled_from(["Practitioner", "PractitionerRole", "Organization"]),
           pairs=st.lists(st.tuples(keys, value), max_size=35), lenient=st.booleans())
    def check(resource: str, pairs: list[tuple[str, str]], lenient: bool) -> None:
        query = "&".join(f"{quote(k, safe=':')}={quote(v, safe=',|:/')}" for k, v in pairs)
        headers = {"Prefer": "handling=lenient"} if lenient else {}
        answer = client.get(f"/fhir/{resource}?{query}", headers=headers)
        assert answer.status_code in (200, 400, 414), answer.text[:300]
        assert answer.json()["resourceType"] in ("Bundle", "OperationOutcome") or answer.status_code == 414

    with directory.client(rpps=LUC.rpps) as client:
        check()


@pytest.mark.parametrize("resource_id", ["a%00b", "8" + "1" * 200, "%C3%A9t%C3%A9", "a%20b", "..%2F..%2Fx", "a%0Ab"])
def test_a_read_by_an_id_that_cannot_exist_is_a_404(directory: Directory, resource_id: str) -> None:
    with directory.client(rpps=LUC.rpps) as client:
        for resource in ("Practitioner", "PractitionerRole", "Organization"):
            missing = client.get(f"/fhir/{resource}/{resource_id}")
            assert missing.status_code in (400, 404), missing.text  # 400: the edge refused the target itself
            assert issue(missing)["code"] in ("not-found", "invalid") and "1" * 100 not in missing.text
