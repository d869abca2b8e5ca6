"""Idle broker connections stay alive: the outbox relay and the retry publisher answer the broker's
heartbeats and send their own while nothing happens, so the first event after a quiet spell goes out on
the same connection instead of a reset socket ("outbox relay failed (ConnectionResetError)").

The heartbeat is negotiated short (MAILLAGE_BUS_HEARTBEAT_SECONDS=3) and the platform left idle for six
intervals: without heartbeats RabbitMQ closes a connection silent for about two intervals."""
from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import sqlalchemy as sa

from services.shared.bus.dlq import DeadLetterStore
from services.shared.db import UnitOfWork
from services.shared.settings import Settings
from services.shared.testing import probe_service
from services.shared.testing.probe_service import emit, handled
from tests.support.broker import isolated_vhost
from tests.support.probe import running_probe

pytestmark = pytest.mark.integration

HEARTBEAT = 3
IDLE_INTERVALS = 6


def eventually(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def broker_connections(amqp_uri: str) -> dict[str, tuple[int, int]]:
    """The broker's own view of this vhost's named connections: name -> (client port, heartbeat)."""
    vhost = unquote(urlparse(amqp_uri).path[1:])
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "--formatter", "json", "vhost", "client_properties",
         "peer_port", "timeout"], check=True, capture_output=True, text=True, timeout=60).stdout
    found: dict[str, tuple[int, int]] = {}
    for row in json.loads(out):
        if row["vhost"] != vhost:
            continue
        properties = row["client_properties"]
        if isinstance(properties, list):  # [[key, type, value], ...]
            properties = {item[0]: item[-1] for item in properties}
        name = properties.get("connection_name")
        if name:
            found[name] = (row["peer_port"], row["timeout"])
    return found


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    """A vhost of its own: the dead letter this test leaves must not meet the other bus tests' probes."""
    with isolated_vhost("maillage-heartbeat") as uri:
        yield uri


@pytest.fixture
def probe(amqp_uri: str, make_database, tmp_path: Path) -> Iterator[tuple[Settings, sa.Engine]]:  # type: ignore[no-untyped-def]
    with running_probe(amqp_uri, make_database("probe"), tmp_path, bus_heartbeat_seconds=HEARTBEAT) as running:
        yield running


def publish(engine: sa.Engine, start: int, *, poison: bool = False) -> None:
    """Through the outbox, as a handler does: the running relay picks it up."""
    outbox, processed = probe_service.BUS
    emit(UnitOfWork(engine, service="probe", outbox=outbox, processed=processed), start, 1, poison)


def handled_numbers(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(handled.c.n).order_by(handled.c.n)))


def test_an_idle_relay_and_retry_publisher_keep_their_connections(
        probe, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    settings, engine = probe
    publish(engine, 1)
    assert eventually(lambda: handled_numbers(engine) == [1])
    before = broker_connections(settings.amqp_uri)
    ours = {name: seen for name, seen in before.items() if name.startswith("probe-relay") or name.endswith("-failures")}
    assert len(ours) == 2, before  # the relay's connection and the retry publisher's
    assert {heartbeat for _port, heartbeat in ours.values()} == {HEARTBEAT}

    caplog.set_level(logging.INFO)
    time.sleep(HEARTBEAT * IDLE_INTERVALS)  # nothing to publish: only heartbeats on the wire

    publish(engine, 2)
    publish(engine, 3, poison=True)  # fails every attempt: retried and dead-lettered by the retry publisher
    assert eventually(lambda: handled_numbers(engine) == [1, 2])
    letters = eventually(lambda: DeadLetterStore(settings.amqp_uri).list(queues=["probe.count"]))
    assert [letter.attempts for letter in letters] == [3]

    after = broker_connections(settings.amqp_uri)
    assert {name: after.get(name) for name in ours} == ours  # the very same TCP connections, still open
    expected = ("event handler failed (PoisonError)", "event dead-lettered")  # the poison event's own story
    troubles = [f"{record.name}: {record.getMessage()}" for record in caplog.records
                if (record.levelno >= logging.WARNING or record.name.startswith(("services.shared.bus", "kombu"))
                    or record.name.endswith("republisher")) and record.getMessage() not in expected]
    assert troubles == []  # no reconnect, no failed publish
