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
from tests.unit.directory.directory_world import (
    CAB_BOX,
    JEANNE,
    JEANNE_BOX,
    LUC,
    PAUL_BOX,
    enrolment_form,
    personal_address,
)

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
    # lookalikes and role names under the operated domain: a new address there is the professional's name
    ("ne-pas-repondre1@maillage.mssante.fr", 403, "reserved to the platform"),
    ("no-reply-notifications@maillage.mssante.fr", 403, "reserved to the platform"),
    ("maillage-admin@maillage.mssante.fr", 403, "reserved to the platform"),
    ("postmaster1@maillage.mssante.fr", 403, "reserved to the platform"),
    ("secretariat@maillage.mssante.fr", 422, "a dot and your family name"),
    ("contact@maillage.mssante.fr", 422, "a dot and your family name"),
    ("paul.durand@maillage.mssante.fr", 422, "a dot and your family name"),  # someone else's name
    ("jeanne.martin123@maillage.mssante.fr", 422, "a dot and your family name"),
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


HOSTILE_NAMES = ['"ne-pas-repondre"@maillage.mssante.fr', "ne-pas-repondre@maillage.mssante.fr.",
                 "ne-pas-repondre@maillage.mssante.fr\x00.evil.com", "<ne-pas-repondre@maillage.mssante.fr>",
                 "mailto:ne-pas-repondre@maillage.mssante.fr", '"paul.durand"@medecin.mssante.fr',
                 PAUL_BOX + ".", PAUL_BOX.replace("a", "\u0430", 1)]


def test_a_certificate_naming_what_is_not_a_plain_address_or_not_its_owners_is_refused(directory: Directory) -> None:
    """Every name a certificate carries (subjectAltName, emailAddress, a CN that is an address) counts."""
    def certificate(label: str, **names: Any) -> str:
        return make_identity(CA, label, **names).cert_pem.decode()

    cases = [(certificate(f"Jeanne hostile {i}", email=JEANNE_BOX, more_emails=[name]), 422, "not a plain mailbox")
             for i, name in enumerate(HOSTILE_NAMES)]
    cases += [
        (certificate("Jeanne subject", email=JEANNE_BOX, subject_email=PAUL_BOX.replace("a", "\u0430", 1)), 422,
         "not a plain mailbox"),
        (certificate(PAUL_BOX + ".", email=JEANNE_BOX), 422, "not a plain mailbox"),  # CN
        (certificate("Jeanne future", email=JEANNE_BOX, more_emails=["future.victim@maillage.mssante.fr"]), 409,
         "not its owners'"),  # under an operated domain, held by nobody yet
        (certificate("Jeanne elsewhere", email=JEANNE_BOX, more_emails=["jeanne@gmail.com"]), 409, "not its owners'"),
        (certificate("Jeanne and Paul", email=JEANNE_BOX, more_emails=[PAUL_BOX]), 409, "someone else"),
        (certificate(PAUL_BOX, email=JEANNE_BOX), 409, "someone else"),  # a CN that is Paul's address
        (certificate("Jeanne without box", email=""), 422, "must name the mailbox"),
    ]
    with directory.client(rpps=JEANNE.rpps) as jeanne, directory.client(roles=("admin",)) as admin:
        for pem, status, words in cases:
            for client in (jeanne, admin):
                answer = client.post("/api/v1/directory/certificates", json={"pem": pem, "mailbox": JEANNE_BOX})
                refused_as(answer, status, "pem", words)
                assert "paul" not in answer.json()["detail"] and "future" not in answer.json()["detail"]
        # her own box named, for the cabinet's box she shares, which it does not name
        refused_as(jeanne.post("/api/v1/directory/certificates", json={
            "pem": certificate("Jeanne not the cabinet", email=JEANNE_BOX), "mailbox": CAB_BOX}),
            422, "pem", "must name the mailbox")
        assert jeanne.get("/api/v1/directory/certificates", params={"mailbox": JEANNE_BOX}).json() == {
            "certificates": []}
        named = jeanne.post("/api/v1/directory/certificates", json={
            "pem": certificate("Jeanne named", email=JEANNE_BOX), "mailbox": JEANNE_BOX})
        assert named.status_code == 201, named.text


def test_an_enrolment_certificate_must_name_the_new_mailbox(directory: Directory) -> None:
    box = personal_address(JEANNE)
    pem = make_identity(CA, "Jeanne new box", email=box, more_emails=["future.victim@maillage.mssante.fr"])
    with directory.client(rpps=JEANNE.rpps) as jeanne:
        unnamed = make_identity(CA, "Jeanne no box", email="").cert_pem.decode()
        refused_as(jeanne.post("/api/v1/enrolments", json=enrolment_form(JEANNE, mailbox=box, certificate_pem=unnamed)),
                   422, "certificate_pem", "must name the mailbox")
        refused_as(jeanne.post("/api/v1/enrolments", json=enrolment_form(
            JEANNE, mailbox=box, certificate_pem=pem.cert_pem.decode())), 409, "certificate_pem", "not its owners'")


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
            "pem": make_identity(CA, "Luc box 2", email=form["mailbox"]).cert_pem.decode(), "mailbox": form["mailbox"]})
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
    assert "your given and family names" in enrolling["422"]["description"]
    assert "not a plain address" in publishing_422(document) and "does not name" in publishing_422(document)
    assert "held" in enrolling["201"]["description"] and '"sending", "held"' in json.dumps(document)
    publishing = document["paths"]["/api/v1/directory/certificates"]["post"]["responses"]
    assert "reserved" in publishing["403"]["description"] and "someone else" in publishing["409"]["description"]


def publishing_422(document: dict[str, Any]) -> str:
    return str(document["paths"]["/api/v1/directory/certificates"]["post"]["responses"]["422"]["description"])
