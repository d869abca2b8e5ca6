"""`maillage dlq` against a real broker: list, show, replay and purge dead letters; errors are one sentence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import amqp
import pytest

from services.shared.bus.amqp import connect
from services.shared.bus.envelope import CloudEvent
from services.shared.bus.failures import failure_headers
from services.shared.bus.topology import DEAD_LETTER_EXCHANGE, Subscription, declare_subscription

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
SUB = Subscription("probe", "cli_check", ("probe.counted",))


def maillage(amqp_uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"AMQP_URI": amqp_uri, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def dead_letter(amqp_uri: str, n: int) -> str:
    connection = connect(amqp_uri)
    channel = connection.channel()
    declare_subscription(channel, SUB, delivery_limit=20, retry_delays_ms=(100,))
    event = CloudEvent(type="probe.counted", source="urn:maillage:service:probe", data={"n": n, "secret": "Dupont"})
    headers = failure_headers(SUB.queue, RuntimeError("boom"), 5)
    channel.basic_publish(
        amqp.Message(
            event.to_json(),
            message_id=event.id,
            delivery_mode=2,
            application_headers=headers,
            content_type="application/cloudevents+json",
        ),
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=SUB.queue,
    )
    connection.close()
    return event.id


def queue_depth(amqp_uri: str, queue: str) -> int:
    connection = connect(amqp_uri)
    _, depth, _ = connection.channel().queue_declare(queue, passive=True)
    connection.close()
    return int(depth)


def test_list_show_replay_and_purge(amqp_uri: str) -> None:
    first, second = dead_letter(amqp_uri, 1), dead_letter(amqp_uri, 2)
    listed = maillage(amqp_uri, "dlq", "list", "-q", SUB.queue, "--json")
    assert listed.returncode == 0, listed.stderr
    letters = json.loads(listed.stdout)
    assert {letter["message_id"] for letter in letters} == {first, second}
    assert all(letter["attempts"] == 5 and letter["error_type"].endswith("RuntimeError") for letter in letters)
    assert "Dupont" not in listed.stdout  # metadata only, never the content

    shown = maillage(amqp_uri, "dlq", "show", first, "-q", SUB.queue)
    assert json.loads(shown.stdout)["message_id"] == first

    replayed = maillage(amqp_uri, "dlq", "replay", first, "-q", SUB.queue)
    assert replayed.stdout.strip() == "Replayed 1 dead letter(s)."
    assert queue_depth(amqp_uri, SUB.queue) == 1
    assert queue_depth(amqp_uri, SUB.dead_letter_queue) == 1

    refused = maillage(amqp_uri, "dlq", "purge", "--all", "-q", SUB.queue)
    assert (
        refused.returncode == 1
        and refused.stderr.strip() == "maillage: Purging deletes events for good: add --yes to confirm."
    )
    purged = maillage(amqp_uri, "dlq", "purge", "--all", "--yes", "-q", SUB.queue)
    assert purged.stdout.strip() == "Purged 1 dead letter(s)."
    assert queue_depth(amqp_uri, SUB.dead_letter_queue) == 0


def test_unknown_id_and_unreachable_broker_are_one_sentence(amqp_uri: str) -> None:
    missing = maillage(amqp_uri, "dlq", "show", "no-such-id", "-q", SUB.queue)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "maillage: No dead letter with id no-such-id."
    down = maillage("amqp://guest:secret@127.0.0.1:1/", "dlq", "list")
    assert down.returncode == 1
    assert down.stderr.count("\n") == 1 and "Traceback" not in down.stderr
    assert "RabbitMQ is not reachable" in down.stderr and "secret" not in down.stderr
