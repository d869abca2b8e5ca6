"""The bus contract against a real RabbitMQ: outbox → relay → reliable consumer, retries and dead letters."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from services.shared.bus.dlq import DeadLetterStore
from services.shared.nameko_ext.config import container_config
from services.shared.testing import probe_service
from services.shared.testing.probe_service import cures, handled
from tests.support.probe import running_probe

pytestmark = pytest.mark.integration


def wait_for(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def probe(amqp_uri: str, make_database, tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_probe(amqp_uri, make_database("probe"), tmp_path) as running:
        yield running


def handled_rows(engine: sa.Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(handled.c.n, handled.c.times).order_by(handled.c.n))]


def test_events_flow_from_outbox_to_handler_once(probe) -> None:  # type: ignore[no-untyped-def]
    settings, engine = probe
    with ClusterRpcProxy(container_config(settings)) as cluster:
        cluster.probe.emit(0, 200)
    rows = wait_for(lambda: (r := handled_rows(engine)) and len(r) == 200 and r)
    assert rows == [(n, 1) for n in range(200)]

    def outbox_rows() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(probe_service.BUS[0])) or 0)

    # confirmed rows go with the relay's next lease (or at close), one batch after they were handled
    assert wait_for(lambda: outbox_rows() == 0)


def test_poison_event_is_dead_lettered_then_replayed_once(probe) -> None:  # type: ignore[no-untyped-def]
    settings, engine = probe
    store = DeadLetterStore(settings.amqp_uri)
    with ClusterRpcProxy(container_config(settings)) as cluster:
        cluster.probe.emit(1000, 1, True)
    letters = wait_for(lambda: store.list(queues=["probe.count"]))
    assert len(letters) == 1
    letter = letters[0]
    assert letter.event_type == "probe.counted"
    assert letter.attempts == 3
    assert letter.error_type.endswith("PoisonError")
    assert handled_rows(engine) == []
    with engine.begin() as conn:
        conn.execute(cures.insert(), {"n": 1000})
    assert store.replay(letter.message_id, queues=["probe.count"]) == 1
    assert wait_for(lambda: handled_rows(engine)) == [(1000, 1)]
    assert store.list(queues=["probe.count"]) == []


@pytest.mark.parametrize("body, content_type", [
    (b"\x00not json at all", "application/cloudevents+json"),
    (b'{"id": "x", "type": "probe.counted"}', "application/cloudevents+json"),
    (b'{"n": 1}', "application/json"),
])
def test_malformed_messages_are_dead_lettered_at_once(probe, body: bytes, content_type: str) -> None:  # type: ignore[no-untyped-def]
    import amqp

    from services.shared.bus.amqp import connect

    settings, engine = probe
    connection = connect(settings.amqp_uri)
    message_id = f"malformed-{len(body)}"
    connection.channel().basic_publish(
        amqp.Message(body, content_type=content_type, message_id=message_id, delivery_mode=2),
        exchange="", routing_key="probe.count",
    )
    connection.close()
    store = DeadLetterStore(settings.amqp_uri)
    letters = wait_for(lambda: [x for x in store.list(queues=["probe.count"]) if x.message_id == message_id])
    assert letters[0].attempts == 1  # permanent: no retry
    assert letters[0].error_type.endswith("Invalid")
    assert store.purge(message_id, queues=["probe.count"]) == 1
    assert handled_rows(engine) == []
