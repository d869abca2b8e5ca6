"""The directory as a user meets it: fed by `maillage directory import`, searched and enrolled in over HTTP,
its events watched on AMQP (the platform: tests/e2e/conftest.py)."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.shared.bus.schemas import validate_event_body
from tests.e2e.conftest import Platform, run_maillage
from tests.support.platform import Observer, eventually
from tests.unit.directory.directory_world import HELENE, JEANNE, JEANNE_BOX, enrolment_form

pytestmark = pytest.mark.e2e


def test_imported_professionals_are_found_and_can_enrol(imported: Platform) -> None:
    observer = Observer(imported.uri, "professional.*")
    with imported.client(rpps=HELENE.rpps) as helene:
        found = helene.get("/fhir/Practitioner", params={"identifier": f"https://rpps.esante.gouv.fr|{JEANNE.rpps}"})
        assert found.status_code == 200 and found.json()["entry"][0]["resource"]["name"][0]["family"] == "MARTIN"
        near = helene.get("/fhir/Practitioner", params={"family": "MARTIN", "address-postalcode": "75011"}).json()
        assert f"8{JEANNE.rpps}" in [entry["resource"]["id"] for entry in near["entry"]]
        assert eventually(lambda: helene.get("/fhir/PractitionerRole", params={
            "address-city": "montpellier", "_count": 0}).json()["total"] >= 1)  # refreshed on directory.imported
        boxes = helene.get("/fhir/PractitionerRole", params={"mailbox-mss": JEANNE_BOX}).json()
        assert boxes["total"] >= 1, "the MSSanté extract's mailboxes are searchable"
        enrolled = helene.post("/api/v1/enrolments", json=enrolment_form(HELENE))
        assert enrolled.status_code == 201, enrolled.text
        again = helene.post("/api/v1/enrolments", json=enrolment_form(HELENE))
        assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"

    events = observer.wait_for("professional.enrolled")
    observer.close()
    enrolments = [event for event in events if event["type"] == "professional.enrolled"]
    assert len(enrolments) == 1
    validate_event_body("professional.enrolled", enrolments[0])
    assert enrolments[0]["data"]["rpps"] == HELENE.rpps


def test_a_bad_extract_is_refused_in_one_sentence(platform: Platform, tmp_path: Path) -> None:
    missing = run_maillage("directory", "import", str(tmp_path / "absent.txt"), env=platform.env)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert len([line for line in missing.stderr.splitlines() if line.strip()]) == 1


def test_searching_needs_a_token(platform: Platform) -> None:
    answer = httpx.get(f"{platform.base}/fhir/Practitioner", params={"family": "MARTIN"}, timeout=10)
    assert answer.status_code == 401 and answer.json()["resourceType"] == "OperationOutcome"


def test_metadata_lists_exactly_what_the_platform_serves(platform: Platform) -> None:
    statement = httpx.get(f"{platform.base}/fhir/metadata", timeout=10).json()
    declared = {r["type"]: ([i["code"] for i in r["interaction"]], sorted(p["name"] for p in r.get("searchParam", [])))
                for r in statement["rest"][0]["resource"]}
    assert declared == {
        "Practitioner": (["read", "search-type"], sorted([
            "identifier", "family", "given", "name", "active", "mailbox-mss", "qualification-code",
            "address-postalcode", "_id", "_lastUpdated"])),
        "PractitionerRole": (["read", "search-type"], sorted([
            "practitioner", "organization", "role", "specialty", "address-postalcode", "address-city",
            "mailbox-mss", "_id", "_lastUpdated"])),
        "Organization": (["read", "search-type"], sorted([
            "identifier", "name", "type", "address-postalcode", "address-city", "partof", "_id", "_lastUpdated"])),
        "Communication": (["create"], []),
    }
    ready = httpx.get(f"{platform.base}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "pass"
