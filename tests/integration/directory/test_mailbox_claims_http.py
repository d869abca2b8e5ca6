"""The mailbox rule over HTTP, on the running directory: every refusal is a problem naming `mailbox` (or the
certificate that names an address), nothing is written; an enrolment without a certificate holds its account kit
and the first certificate published for the mailbox releases it (`enrolment.completed` on the bus, once)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.shared.bus.schemas import validate_event_body
from tests.integration.directory.conftest import Directory
from tests.support.pki import make_ca, make_identity
from tests.support.platform import Observer, eventually
from tests.unit.directory.directory_world import CAB_BOX, JEANNE, JEANNE_BOX, LUC, PAUL_BOX, enrolment_form

pytestmark = pytest.mark.integration
CA = make_ca("Claims HTTP CA")
PLATFORM = "ne-pas-repondre@maillage.mssante.fr"


def refused_as(answer: httpx.Response, status: int, expression: str, words: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and problem["expression"] == expression and words in problem["detail"]
    assert problem["detail"].count(".") == 1  # one plain sentence


@pytest.fixture
def kits(directory: Directory) -> Iterator[Observer]:
    watching = Observer(directory.amqp_uri, "professional.enrolled", "enrolment.completed", "certificate.published")
    try:
        yield watching
    finally:
        watching.close()


@pytest.mark.parametrize("mailbox, status, words", [
    (PLATFORM, 403, "reserved to the platform"),  # the platform's own sender
    ("Ne.Pas.Repondre+moi@MAILLAGE.mssante.fr", 403, "reserved to the platform"),
    ("postmaster@maillage.mssante.fr", 403, "reserved to the platform"),
    ("abuse@medecin.mssante.fr", 403, "reserved to the platform"),
    (PAUL_BOX, 409, "for someone else"),  # the MSSanté extract lists it for Paul
    (PAUL_BOX.upper(), 409, "for someone else"),
    (CAB_BOX, 409, "for someone else"),  # listed for Jeanne and for Paul
    ("jeanne.martin@infirmier.mssante.fr", 422, "domain the platform operates"),  # a new address elsewhere
])
def test_enrolment_refusals_name_the_mailbox(directory: Directory, mailbox: str, status: int, words: str) -> None:
    for client in (directory.client(rpps=JEANNE.rpps), directory.client(roles=("admin",))):
        with client:
            refused_as(client.post("/api/v1/enrolments", json=enrolment_form(JEANNE, mailbox=mailbox)), status,
                       "mailbox", words)
    with directory.client(rpps=JEANNE.rpps) as jeanne:
        listed = jeanne.get("/api/v1/directory/certificates", params={"mailbox": PLATFORM})
        assert listed.status_code == 404  # no mailbox was created for it either


def test_certificate_publication_refusals_name_the_mailbox_or_the_certificate(directory: Directory) -> None:
    fake_platform = make_identity(CA, "Fake platform", email=PLATFORM).cert_pem.decode()
    as_paul = make_identity(CA, "Jeanne as Paul", email=PAUL_BOX).cert_pem.decode()
    with directory.client(rpps=JEANNE.rpps) as jeanne, directory.client(roles=("admin",)) as admin:
        for client in (jeanne, admin):
            refused_as(client.post("/api/v1/directory/certificates", json={"pem": fake_platform, "mailbox": PLATFORM}),
                       403, "mailbox", "reserved to the platform")
        refused_as(jeanne.post("/api/v1/directory/certificates", json={"pem": fake_platform, "mailbox": JEANNE_BOX}),
                   403, "pem", "reserved to the platform")
        refused_as(jeanne.post("/api/v1/directory/certificates", json={"pem": fake_platform}),
                   403, "pem", "reserved to the platform")
        refused_as(jeanne.post("/api/v1/directory/certificates", json={"pem": as_paul, "mailbox": JEANNE_BOX}),
                   409, "pem", "someone else")
        assert jeanne.get("/api/v1/directory/certificates", params={"mailbox": JEANNE_BOX}).json() == {
            "certificates": []}


def test_an_enrolment_without_certificate_holds_the_kit_until_one_is_published(directory: Directory,
                                                                              kits: Observer) -> None:
    form = enrolment_form(LUC, mailbox="luc.zylberstein@maillage.mssante.fr")
    with directory.client(rpps=LUC.rpps) as luc:
        created = luc.post("/api/v1/enrolments", json=form)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["account_kit_status"] == "held" and "as soon as a certificate is published" in body["account_kit"]
        first = luc.post("/api/v1/directory/certificates", json={
            "pem": make_identity(CA, "Luc box", email=form["mailbox"]).cert_pem.decode(), "mailbox": form["mailbox"]})
        assert first.status_code == 201, first.text
        assert luc.get(created.headers["location"]).json()["account_kit_status"] == "sending"
        second = luc.post("/api/v1/directory/certificates", json={
            "pem": make_identity(CA, "Luc box 2").cert_pem.decode(), "mailbox": form["mailbox"]})
        assert second.status_code == 201, second.text
    events: list[dict[str, Any]] = []
    eventually(lambda: events.extend(kits.drain()) or len([e for e in events
                                                          if e["type"] == "certificate.published"]) == 2)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        validate_event_body(event["type"], event)
        by_type.setdefault(event["type"], []).append(event)
    [enrolled] = by_type["professional.enrolled"]
    [completed] = by_type["enrolment.completed"]  # once, for the first certificate only
    assert enrolled["data"]["account_kit"] == "held"
    assert completed["data"]["enrolment_id"] == body["id"] and completed["data"]["mailbox"] == form["mailbox"]
    assert completed["data"]["certificate_fingerprint"] == first.json()["fingerprint"]


def test_the_openapi_document_states_the_refusals_and_the_kit_status(directory: Directory) -> None:
    document = httpx.get(f"{directory.base_url}/api/v1/openapi.json", timeout=30).json()
    enrolling = document["paths"]["/api/v1/enrolments"]["post"]["responses"]
    assert "reserved" in enrolling["403"]["description"] and "someone else" in enrolling["409"]["description"]
    assert "domains the platform operates" in enrolling["422"]["description"]
    assert "held" in enrolling["201"]["description"] and '"sending", "held"' in json.dumps(document)
    publishing = document["paths"]["/api/v1/directory/certificates"]["post"]["responses"]
    assert "reserved" in publishing["403"]["description"] and "someone else" in publishing["409"]["description"]
