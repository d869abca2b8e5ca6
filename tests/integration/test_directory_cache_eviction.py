"""Any service holding the directory client (here a probe, not messaging) drops cached answers on certificate events.

The real broker carries the events as the relay publishes them; each container of the service has a queue of its own.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import amqp
import pytest
from nameko.rpc import rpc
from nameko.runners import ServiceRunner

from services.shared.bus.amqp import connect
from services.shared.bus.envelope import CONTENT_TYPE, CloudEvent
from services.shared.bus.topology import EVENTS_EXCHANGE, declare_exchanges
from services.shared.clients.directory import Mailbox, TtlCache
from services.shared.contracts.directory_events import CERTIFICATE_PUBLISHED, CERTIFICATE_REVOKED
from services.shared.nameko_ext.config import container_config
from services.shared.nameko_ext.directory import DirectoryProxy
from services.shared.settings import Settings

pytestmark = pytest.mark.integration

FINGERPRINT = "5d41402abc4b2a76b9719d911017c592ae1f2c0d3d1a8b7e0f5e2c4b6a8d9e01"


class CoordinationProbe:
    """Stands for coordination: a service with the directory client and nothing of messaging."""

    name = "coordination_probe"
    directory = DirectoryProxy()

    @rpc
    def ping(self) -> str:
        return "pong"


def _caches(runner: ServiceRunner) -> list[TtlCache]:
    caches = []
    for container in runner.containers:
        [proxy] = [d for d in container.dependencies if isinstance(d, DirectoryProxy)]
        assert proxy.cache is not None
        caches.append(proxy.cache)
    return caches


def _declare_topology(uri: str) -> None:
    connection = connect(uri, name="test-topology")
    try:
        declare_exchanges(connection.channel())
    finally:
        connection.close()


@pytest.fixture
def probe(amqp_uri: str, tmp_path: Path) -> Iterator[tuple[Settings, list[TtlCache]]]:
    settings = Settings(amqp_uri=amqp_uri, var_dir=tmp_path)
    _declare_topology(amqp_uri)
    runners = []
    try:
        for _ in range(2):  # two processes of the service: each must hear every event
            runner = ServiceRunner(container_config(settings))
            runner.add_service(CoordinationProbe)
            runner.start()
            runners.append(runner)
        yield settings, [cache for runner in runners for cache in _caches(runner)]
    finally:
        for runner in runners:
            runner.stop()


def _publish(uri: str, event_type: str, data: dict[str, object]) -> None:
    event = CloudEvent(type=event_type, source="directory", data=data)
    connection = connect(uri, name="test-publisher")
    try:
        channel = connection.channel()
        channel.basic_publish(amqp.Message(event.to_json(), content_type=CONTENT_TYPE, delivery_mode=2,
                                           message_id=event.id, type=event.type),
                              exchange=EVENTS_EXCHANGE, routing_key=event_type)
    finally:
        connection.close()


def _eventually(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _fill(cache: TtlCache) -> None:
    cache.put("erin@cabinet.mssante.fr", Mailbox("erin@cabinet.mssante.fr", "CAB", True))
    cache.put("paul.durand@medecin.mssante.fr",
              Mailbox("paul.durand@medecin.mssante.fr", "PER", True, owners=frozenset({"10001045367"})))
    cache.put("nobody@medecin.mssante.fr", None)


def _cached(cache: TtlCache) -> set[str]:
    return {address for address in ("erin@cabinet.mssante.fr", "paul.durand@medecin.mssante.fr",
                                    "nobody@medecin.mssante.fr") if cache.get(address)[0]}


def test_every_process_of_a_service_with_the_directory_client_evicts_on_certificate_events(
        probe: tuple[Settings, list[TtlCache]]) -> None:
    settings, caches = probe
    assert len(caches) == 2
    for cache in caches:
        _fill(cache)

    # a revoked certificate of a mailbox: that mailbox's answer goes, in both processes; the rest stays
    _publish(settings.amqp_uri, CERTIFICATE_REVOKED, {"schema_version": 1, "fingerprint": FINGERPRINT,
                                                      "mailbox": "Erin@cabinet.mssante.fr",
                                                      "professional_idnps": None, "owners": [],
                                                      "revoked_at": "2026-11-24T16:02:45+00:00"})
    _eventually(lambda: all("erin@cabinet.mssante.fr" not in _cached(cache) for cache in caches))
    assert all(_cached(cache) == {"paul.durand@medecin.mssante.fr", "nobody@medecin.mssante.fr"} for cache in caches)

    # a malformed event is dropped (logged), the consumer goes on: a professional's new certificate evicts
    # the mailboxes its owner (IDNPS 8 + RPPS) holds
    _publish(settings.amqp_uri, CERTIFICATE_PUBLISHED, {"schema_version": 1, "fingerprint": "not hex"})
    _publish(settings.amqp_uri, CERTIFICATE_PUBLISHED, {
        "schema_version": 1, "fingerprint": FINGERPRINT, "mailbox": None, "professional_idnps": "810001045367",
        "owners": ["810001045367"], "not_after": "2029-11-23T09:00:00+00:00"})
    _eventually(lambda: all(_cached(cache) == {"nobody@medecin.mssante.fr"} for cache in caches))


def test_each_process_consumes_from_an_exclusive_queue_of_its_own_named_after_the_service(
        amqp_uri: str, tmp_path: Path) -> None:
    runner = ServiceRunner(container_config(Settings(amqp_uri=amqp_uri, var_dir=tmp_path)))
    runner.add_service(CoordinationProbe)
    runner.add_service(type("OtherProbe", (CoordinationProbe,), {"name": "other_probe"}))
    _declare_topology(amqp_uri)
    runner.start()
    try:
        [queue, other] = sorted((next(d for d in container.dependencies if isinstance(d, DirectoryProxy))
                                 .certificate_events.queue for container in runner.containers), key=lambda q: q.name)
    finally:
        runner.stop()
    prefix, _, suffix = queue.name.rpartition(".")
    assert prefix == "coordination_probe.forget_directory_answers" and len(suffix) == 12
    assert other.name.startswith("other_probe.forget_directory_answers.")
    assert (queue.exclusive, queue.auto_delete, queue.durable) == (True, True, False)
    assert sorted(b.routing_key for b in queue.bindings) == [CERTIFICATE_PUBLISHED, CERTIFICATE_REVOKED]
