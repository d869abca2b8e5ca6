"""The welcome kit on professional.enrolled, and the `maillage mail` commands against the running service."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import amqp
import pytest

from services.messaging.crypto.mime import parse_message
from services.messaging.handlers.notices import notice_id
from services.shared.bus.amqp import connect
from services.shared.bus.envelope import CONTENT_TYPE, CloudEvent
from services.shared.bus.schemas import validate_event_body
from services.shared.bus.topology import EVENTS_EXCHANGE
from services.shared.pki.cms import decrypt, verify
from tests.integration.messaging.conftest import Platform
from tests.support.messaging_world import ALICE, BOB, NEWCOMER, RPPS
from tests.support.pki import Identity
from tests.support.platform import eventually

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def publish(amqp_uri: str, event: CloudEvent) -> None:
    connection = connect(amqp_uri, name="test-directory-publisher")
    try:
        channel = connection.channel()
        channel.confirm_select()
        channel.basic_publish(amqp.Message(event.to_json(), content_type=CONTENT_TYPE, delivery_mode=2),
                              exchange=EVENTS_EXCHANGE, routing_key=event.type)
    finally:
        connection.close()


def test_an_enrolled_professional_gets_the_welcome_kit_once_by_secure_message(
        platform: Platform, pki: dict[str, Identity]) -> None:
    data = {"schema_version": 1, "enrolment_id": "enr-welcome-1", "rpps": RPPS["dave"], "mailbox": NEWCOMER,
            "display_name": "Dr Dave Bernard", "enrolled_at": "2026-11-23T09:15:02+00:00"}
    for _ in range(2):  # announced twice (a replayed dead letter, say): one kit
        publish(platform.amqp_uri, CloudEvent(type="professional.enrolled", source="urn:maillage:service:directory",
                                              data=data, subject=f"Practitioner/{RPPS['dave']}"))
    with platform.client("dave") as dave:
        listed = eventually(lambda: dave.get(f"/api/v1/mailboxes/{NEWCOMER}/messages").json()["messages"])
        kit = dave.get(f"/api/v1/mailboxes/{NEWCOMER}/messages/{listed[0]['id']}").json()
    signed = decrypt(base64.b64decode(kit["ciphertext"]), pki["dave"].cert, pki["dave"].key)
    content = parse_message(verify(signed).content)
    assert content.subject.startswith("Bienvenue sur Maillage") and "Bonjour Dr Dave Bernard" in content.text
    assert NEWCOMER in content.text and len(listed) == 1 and kit["sender"].startswith("ne-pas-repondre@")


def test_a_held_kit_leaves_on_enrolment_completed_once_through_the_broker(
        platform: Platform, pki: dict[str, Identity]) -> None:
    enrolment = {"schema_version": 1, "enrolment_id": "enr-welcome-held", "rpps": RPPS["dave"], "mailbox": NEWCOMER,
                 "display_name": "Dr Dave Bernard"}
    held = CloudEvent(type="professional.enrolled", source="urn:maillage:service:directory", subject="Practitioner/x",
                      data={**enrolment, "enrolled_at": "2026-11-23T09:15:02+00:00", "account_kit": "held"})
    completed = CloudEvent(type="enrolment.completed", source="urn:maillage:service:directory",
                           subject="Practitioner/x", data={**enrolment, "certificate_fingerprint": "ab" * 32,
                                                           "completed_at": "2026-11-23T10:00:00+00:00"})
    for event in (held, completed, completed):  # the completion replayed: one kit
        validate_event_body(event.type, event.to_dict())
        publish(platform.amqp_uri, event)
    kit_id = notice_id("welcome", "enr-welcome-held")
    with platform.client("dave") as dave:
        def kits() -> list[str]:
            listed = dave.get(f"/api/v1/mailboxes/{NEWCOMER}/messages").json()["messages"]
            return [message["id"] for message in listed if message["id"] == kit_id]
        assert eventually(kits) == [kit_id]
        kit = dave.get(f"/api/v1/mailboxes/{NEWCOMER}/messages/{kit_id}").json()
    content = parse_message(verify(decrypt(base64.b64decode(kit["ciphertext"]), pki["dave"].cert,
                                           pki["dave"].key)).content)
    assert "enr-welcome-held" in content.text and content.subject.startswith("Bienvenue sur Maillage")


def maillage(platform: Platform, who: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    token = platform.issuer.mint(rpps=RPPS[who])
    env = {**os.environ, "MAILLAGE_URL": platform.base_url, "MAILLAGE_TOKEN": token, "MAILLAGE_LOG_LEVEL": "ERROR"}
    return subprocess.run([sys.executable, "-m", "services.cli", "mail", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mode", [(), ("--key", "alice.key", "--cert", "alice.pem"),
                                  ("--key", "alice.key", "--cert", "alice.pem", "--e2e")],
                         ids=["platform-signed", "client-signed", "end-to-end"])
def test_the_cli_sends_lists_and_reads_decrypting_locally(platform: Platform, pem_files: Path, tmp_path: Path,
                                                          mode: tuple[str, ...]) -> None:
    (tmp_path / "cr.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    options = [pem_files / part if part.endswith((".key", ".pem")) else part for part in mode]
    sent = maillage(platform, "alice", "send", "--from", ALICE, "--to", BOB, "--subject", "Résultats",
                    "--body", "Bonjour,\nvoici les résultats.", "--attach", tmp_path / "cr.pdf", *options)
    assert sent.returncode == 0, sent.stderr
    message_id = sent.stdout.split()[1]
    bob = ("--key", pem_files / "bob.key", "--cert", pem_files / "bob.pem")

    listed = eventually(lambda: message_id in (out := maillage(platform, "bob", "list", BOB, *bob)).stdout and out)
    read = maillage(platform, "bob", "read", BOB, message_id, *bob, "--trust", pem_files / "ca.pem",
                    "--save", tmp_path / "out")

    assert "Résultats" in listed.stdout, listed.stderr
    assert read.returncode == 0, read.stderr
    assert "Subject: Résultats" in read.stdout and "voici les résultats." in read.stdout
    assert "(verified)" in read.stdout and (tmp_path / "out" / "cr.pdf").read_bytes().startswith(b"%PDF")


def test_cli_user_errors_are_one_sentence_and_exit_1(platform: Platform, pem_files: Path) -> None:
    forbidden = maillage(platform, "carol", "list", BOB)
    missing = maillage(platform, "alice", "read", ALICE, "not-an-id", "--key", pem_files / "alice.key",
                       "--cert", pem_files / "alice.pem")
    for result in (forbidden, missing):
        assert result.returncode == 1 and result.stderr.startswith("maillage: ")
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "owners" in forbidden.stderr
