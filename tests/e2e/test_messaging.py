"""The messaging platform started as a user starts it, driven only over HTTP and AMQP.

`maillage up --only messaging` runs beside a directory in a process of its own. The directory service
(services/directory/service.py) does not exist yet; until it does, and can be seeded with mailboxes and
certificates, a stand-in answering its RPC contract (tests/support/directory_standin.py) takes its place.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import amqp
import httpx
import pytest

from services.messaging.crypto.testing import Identity, make_ca, make_identity
from services.shared.auth import DevIssuer
from services.shared.bus.amqp import connect
from services.shared.bus.envelope import CONTENT_TYPE, CloudEvent
from services.shared.bus.schemas import validate_event_body
from services.shared.bus.topology import EVENTS_EXCHANGE
from tests.integration.messaging.conftest import (
    ALICE,
    BOB,
    NEWCOMER,
    RPPS,
    die_with_parent,
    directory_fixture,
    free_port,
)
from tests.support.broker import isolated_vhost

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n%%EOF\n"


class Processes:
    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], ready: str | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        self.running.append(process)
        if ready is not None:
            assert process.stdout is not None and process.stdout.readline().decode().strip() == ready
        return process

    def stop(self) -> None:
        for process in reversed(self.running):
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0, "a process did not stop cleanly on SIGTERM"


@pytest.fixture(scope="module")
def pki() -> dict[str, Identity]:
    ca = make_ca("Maillage E2E CA")
    return {"ca": ca, "alice": make_identity(ca, "Alice Martin"), "bob": make_identity(ca, "Bob Durand"),
            "carol": make_identity(ca, "Carol Petit", kind="ec"), "dave": make_identity(ca, "Dave Bernard")}


@pytest.fixture(scope="module")
def platform(pki: dict[str, Identity], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    var_dir = tmp_path_factory.mktemp("var")
    port = free_port()
    with isolated_vhost("maillage-e2e") as uri:
        env = {**os.environ, "AMQP_URI": uri, "MAILLAGE_VAR_DIR": str(var_dir), "MAILLAGE_ENV": "test",
               "MAILLAGE_HTTP_ADDRESS": f"127.0.0.1:{port}", "MAILLAGE_LOG_LEVEL": "ERROR"}
        processes = Processes()
        fixture = var_dir / "directory.json"
        fixture.write_text(json.dumps(directory_fixture(pki)))
        processes.start(["tests.support.directory_standin", str(fixture)], env, ready="directory stand-in ready")
        processes.start(["services.cli", "up", "--only", "messaging"], env)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        try:
            yield {"base": base, "uri": uri, "issuer": DevIssuer(var_dir), "var": var_dir}
        finally:
            processes.stop()


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "maillage up did not become ready"
        time.sleep(0.1)


def client(platform: dict[str, Any], who: str) -> httpx.Client:
    token = platform["issuer"].mint(rpps=RPPS[who])
    return httpx.Client(base_url=platform["base"], headers={"Authorization": f"Bearer {token}"}, timeout=30)


def eventually(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "the expected state was not reached"
        time.sleep(0.1)
    return result


class Observer:
    """A queue of our own bound to every message.* event, to see what crosses the bus."""

    def __init__(self, uri: str) -> None:
        self.connection = connect(uri, name="e2e-observer")
        self.channel = self.connection.channel()
        self.queue = self.channel.queue_declare("", exclusive=True).queue
        self.channel.queue_bind(self.queue, EVENTS_EXCHANGE, "message.*")

    def drain(self) -> list[dict[str, Any]]:
        bodies = []
        while (message := self.channel.basic_get(self.queue, no_ack=True)) is not None:
            bodies.append(json.loads(message.body))
        return bodies


def openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(["openssl", *map(str, args)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result


def test_a_professional_sends_the_recipient_reads_with_openssl_and_the_sender_gets_receipts(
        platform: dict[str, Any], pki: dict[str, Identity], tmp_path: Path) -> None:
    observer = Observer(platform["uri"])
    for name in ("bob", "ca"):
        pki[name].write(tmp_path, name)
    body = {"sender": ALICE, "to": [BOB, "inconnu@nulle-part.test"], "subject": "Sortie DUPONT Jeanne",
            "body": {"text": "Bonjour,\nci-joint la lettre de liaison.\n"}, "read_receipt": True,
            "patient_ins": "180012B00100188", "attachments": [
                {"filename": "lettre.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}]}
    with client(platform, "alice") as alice, client(platform, "bob") as bob:
        accepted = alice.post("/api/v1/messages", json=body, headers={"Idempotency-Key": "e2e-1"})
        assert accepted.status_code == 202, accepted.text
        message_id = accepted.json()["id"]
        eventually(lambda: any(m["id"] == message_id for m in
                               bob.get(f"/api/v1/mailboxes/{BOB}/messages").json()["messages"]))
        (tmp_path / "m.p7m").write_bytes(bob.get(f"/api/v1/mailboxes/{BOB}/messages/{message_id}",
                                                 headers={"Accept": "application/pkcs7-mime"}).content)
        (tmp_path / "operator.pem").write_bytes(bob.get("/api/v1/messaging/operator-certificates").content)
        assert bob.post(f"/api/v1/mailboxes/{BOB}/messages/{message_id}/read").status_code == 200
        # the bounce notice for the unknown recipient, and the read receipt
        notices = eventually(lambda: len(found := replies_to(alice, message_id)) == 2 and found)

    openssl("cms", "-decrypt", "-in", tmp_path / "m.p7m", "-recip", tmp_path / "bob.pem", "-inkey",
            tmp_path / "bob.key", "-out", tmp_path / "signed.eml")
    shown = openssl("cms", "-verify", "-in", tmp_path / "signed.eml", "-CAfile", tmp_path / "operator.pem").stdout
    assert b"Sortie DUPONT Jeanne" in shown and b"X-MSS-INS: 180012B00100188" in shown
    assert {n["sender"] for n in notices} == {"ne-pas-repondre@maillage.mssante.fr"}
    events: list[dict[str, Any]] = []
    wanted = {"message.submitted", "message.bounced", "message.delivered", "message.read"}
    eventually(lambda: events.extend(observer.drain()) or wanted <= {e["type"] for e in events})
    for event in events:
        validate_event_body(event["type"], event)
        assert "DUPONT" not in json.dumps(event) and "180012B00100188" not in json.dumps(event)


def replies_to(alice: httpx.Client, message_id: str) -> list[dict[str, Any]]:
    listed = alice.get(f"/api/v1/mailboxes/{ALICE}/messages").json()["messages"]
    return [m for m in listed if m["in_reply_to"] == message_id]


def test_an_enrolment_announced_on_the_bus_brings_the_welcome_kit(
        platform: dict[str, Any], pki: dict[str, Identity]) -> None:
    event = CloudEvent(type="professional.enrolled", source="urn:maillage:service:directory", data={
        "schema_version": 1, "enrolment_id": "enr-e2e", "rpps": RPPS["dave"], "mailbox": NEWCOMER,
        "display_name": "Dr Dave Bernard", "enrolled_at": "2026-11-23T09:15:02+00:00"})
    connection = connect(platform["uri"], name="e2e-directory")
    channel = connection.channel()
    channel.confirm_select()
    channel.basic_publish(amqp.Message(event.to_json(), content_type=CONTENT_TYPE, delivery_mode=2),
                          exchange=EVENTS_EXCHANGE, routing_key=event.type)
    connection.close()
    with client(platform, "dave") as dave:
        kit = eventually(lambda: dave.get(f"/api/v1/mailboxes/{NEWCOMER}/messages").json()["messages"])
    assert kit[0]["sender"].startswith("ne-pas-repondre@") and kit[0]["mode"] == "platform-signed"
