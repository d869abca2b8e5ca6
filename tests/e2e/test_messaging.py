"""Secure messaging as professionals meet it, over the real directory: enrol with a certificate and receive the
account kit, publish a certificate, send, read with `openssl cms`, get the bounce and the read receipt. Only HTTP,
AMQP and the `maillage` command (the platform: tests/e2e/conftest.py)."""
from __future__ import annotations

import base64
import email
import email.policy
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.shared.bus.schemas import validate_event_body
from tests.e2e.conftest import Platform
from tests.support.pki import Identity, make_ca, make_identity
from tests.support.platform import Observer, eventually
from tests.unit.directory.directory_world import JEANNE, JEANNE_BOX, PAUL, enrolment_form

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n%%EOF\n"
PAUL_BOX = enrolment_form(PAUL)["mailbox"]
OBJECTING_INS = "269054958815780"
PLATFORM_SENDER = "ne-pas-repondre@maillage.mssante.fr"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    ca = make_ca("Maillage E2E CA")
    identities = {"paul": make_identity(ca, "Paul Durand", email=PAUL_BOX),
                  "jeanne": make_identity(ca, "Jeanne Martin", email=JEANNE_BOX)}
    for name, identity in identities.items():
        identity.write(folder, name)
    return {"folder": folder, **identities}


@pytest.fixture(scope="module")
def paul(imported: Platform, pki: dict[str, Any]) -> httpx.Client:
    """Paul enrols through the regional form, his encryption certificate with it."""
    client = imported.client(rpps=PAUL.rpps)
    identity: Identity = pki["paul"]
    enrolled = client.post("/api/v1/enrolments", json=enrolment_form(PAUL, certificate_pem=identity.cert_pem.decode()))
    assert enrolled.status_code == 201, enrolled.text
    return client


@pytest.fixture(scope="module")
def jeanne(imported: Platform, pki: dict[str, Any]) -> httpx.Client:
    """Jeanne's mailbox comes from the MSSanté extract; she publishes her certificate for it."""
    client = imported.client(rpps=JEANNE.rpps)
    identity: Identity = pki["jeanne"]
    published = client.post("/api/v1/directory/certificates",
                             json={"pem": identity.cert_pem.decode(), "mailbox": JEANNE_BOX})
    assert published.status_code == 201, published.text
    return client


def openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(["openssl", *map(str, args)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result


def listed(client: httpx.Client, mailbox: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/mailboxes/{mailbox}/messages")
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]  # type: ignore[no-any-return]


def read_with_openssl(client: httpx.Client, mailbox: str, message_id: str, who: str, pki: dict[str, Any],
                      tmp_path: Path) -> bytes:
    """Fetch the S/MIME of one message, decrypt it with the recipient's key, verify the operator's signature."""
    folder = pki["folder"]
    (tmp_path / "m.p7m").write_bytes(client.get(f"/api/v1/mailboxes/{mailbox}/messages/{message_id}",
                                                headers={"Accept": "application/pkcs7-mime"}).content)
    (tmp_path / "operator.pem").write_bytes(client.get("/api/v1/messaging/operator-certificates").content)
    openssl("cms", "-decrypt", "-in", tmp_path / "m.p7m", "-recip", folder / f"{who}.pem", "-inkey",
            folder / f"{who}.key", "-out", tmp_path / "signed.eml")
    return openssl("cms", "-verify", "-in", tmp_path / "signed.eml", "-CAfile", tmp_path / "operator.pem").stdout


def test_the_account_kit_reaches_the_enrolled_mailbox_and_only_its_owner_reads_it(
        paul: httpx.Client, imported: Platform, pki: dict[str, Any], tmp_path: Path) -> None:
    kit = eventually(lambda: listed(paul, PAUL_BOX))
    assert kit[0]["sender"] == PLATFORM_SENDER and kit[0]["mode"] == "platform-signed"
    shown = read_with_openssl(paul, PAUL_BOX, kit[0]["id"], "paul", pki, tmp_path)
    kit_mail = email.message_from_bytes(shown, policy=email.policy.default)
    assert str(kit_mail["Subject"]).startswith("Bienvenue sur Maillage")
    text = next(part for part in kit_mail.walk() if part.get_content_type() == "text/plain").get_content()
    assert PAUL_BOX in text and "Pro Santé Connect" in text
    with imported.client(rpps=JEANNE.rpps) as stranger:
        assert stranger.get(f"/api/v1/mailboxes/{PAUL_BOX}/messages").status_code == 403


def test_a_message_is_read_with_openssl_and_the_sender_gets_the_bounce_and_the_read_receipt(
        paul: httpx.Client, jeanne: httpx.Client, imported: Platform, pki: dict[str, Any], tmp_path: Path) -> None:
    observer = Observer(imported.uri, "message.*")
    body = {"sender": PAUL_BOX, "to": [JEANNE_BOX, "inconnu@nulle-part.test"], "subject": "Sortie DUPONT Jeanne",
            "body": {"text": "Bonjour,\nci-joint la lettre de liaison.\n"}, "read_receipt": True,
            "patient_ins": "180012B00100188", "attachments": [
                {"filename": "lettre.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}]}
    accepted = paul.post("/api/v1/messages", json=body, headers={"Idempotency-Key": "e2e-1"})
    assert accepted.status_code == 202, accepted.text
    message_id = accepted.json()["id"]
    retried = paul.post("/api/v1/messages", json=body, headers={"Idempotency-Key": "e2e-1"})
    assert retried.json()["id"] == message_id

    eventually(lambda: any(m["id"] == message_id for m in listed(jeanne, JEANNE_BOX)))
    assert [m["id"] for m in listed(jeanne, JEANNE_BOX)].count(message_id) == 1
    shown = read_with_openssl(jeanne, JEANNE_BOX, message_id, "jeanne", pki, tmp_path)
    assert b"Sortie DUPONT Jeanne" in shown and b"X-MSS-INS: 180012B00100188" in shown
    assert jeanne.post(f"/api/v1/mailboxes/{JEANNE_BOX}/messages/{message_id}/read").status_code == 200

    replies = eventually(lambda: len(found := [m for m in listed(paul, PAUL_BOX) if m["in_reply_to"] == message_id])
                         == 2 and found)
    assert {reply["sender"] for reply in replies} == {PLATFORM_SENDER}
    events = observer.wait_for("message.submitted", "message.bounced", "message.delivered", "message.read")
    observer.close()
    for event in events:
        validate_event_body(event["type"], event)
        assert "DUPONT" not in json.dumps(event) and "180012B00100188" not in json.dumps(event)


def test_a_patient_objection_recorded_in_the_directory_blocks_the_message(
        paul: httpx.Client, jeanne: httpx.Client, imported: Platform) -> None:
    with imported.client(roles=("admin",)) as admin:
        recorded = admin.put(f"/api/v1/directory/patients/{OBJECTING_INS}/objection",
                             json={"objects_to_exchange": True, "refuses_dmp": False})
        assert recorded.status_code in (200, 201), recorded.text
    refused = paul.post("/api/v1/messages", json={
        "sender": PAUL_BOX, "to": [JEANNE_BOX], "subject": "Compte rendu", "body": {"text": "Bonjour"},
        "patient_ins": OBJECTING_INS})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert "oppos" in refused.json()["detail"].lower()
