"""Crash safety: 10,000 events through the outbox while the process is SIGKILLed twice and the broker cut once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.shared.bus.dlq import DeadLetterStore
from services.shared.db import UnitOfWork
from services.shared.testing import probe_service
from services.shared.testing.probe_service import BUS, handled
from tests.support.broker import isolated_vhost

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
TOTAL = 10_000


def start_probe(env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "services.shared.testing.probe_service"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == b"probe ready"
    return process


def handled_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(handled)) or 0)


def wait_until_handled(engine: sa.Engine, at_least: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while handled_count(engine) < at_least:
        assert time.monotonic() < deadline, f"only {handled_count(engine)} of {at_least} events handled in time"
        time.sleep(0.02)


def wait_until_outbox_empty(engine: sa.Engine, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            left = conn.scalar(sa.select(sa.func.count()).select_from(BUS[0]))
        assert time.monotonic() < deadline, f"{left} events still in the outbox"
        if left == 0:
            return
        time.sleep(0.05)


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    """A vhost of this test's own: probe events other bus tests left queued (retries, delays) must not be counted."""
    with isolated_vhost("maillage-crash-bus") as uri:
        yield uri


def test_every_event_is_handled_exactly_once_across_crashes(amqp_uri: str, make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("probe")
    engine = sa.create_engine(url)
    probe_service.metadata.create_all(engine)
    with UnitOfWork(engine, service="probe", outbox=BUS[0], processed=BUS[1]) as uow:
        for n in range(TOTAL):
            uow.publish(probe_service.ProbeCounted(n=n))
        uow.commit()
    vhost = amqp_uri.rsplit("/", 1)[1]
    env = {**os.environ, "AMQP_URI": amqp_uri, "MAILLAGE_PROBE_DATABASE_URL": url,
           "MAILLAGE_RELAY_LEASE_SECONDS": "2", "MAILLAGE_RELAY_BATCH_SIZE": "200", "MAILLAGE_LOG_LEVEL": "ERROR"}

    process = start_probe(env)
    try:
        for fraction in (0.25, 0.5):
            wait_until_handled(engine, int(TOTAL * fraction))
            process.send_signal(signal.SIGKILL)
            process.wait()
            process = start_probe(env)
        wait_until_handled(engine, int(TOTAL * 0.75))
        subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "-p", vhost, "test: connection cut"],
                       check=True, capture_output=True, timeout=60)
        wait_until_handled(engine, TOTAL)
        # a batch a killed relay had published keeps its lease (2 s) before it is published again and deleted
        wait_until_outbox_empty(engine)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    with engine.connect() as conn:
        times = dict(conn.execute(sa.select(handled.c.times, sa.func.count()).group_by(handled.c.times)).all())
        left_in_outbox = conn.scalar(sa.select(sa.func.count()).select_from(BUS[0]))
        distinct_n = conn.scalar(sa.select(sa.func.count(sa.distinct(handled.c.n))))
    assert times == {1: TOTAL}, f"handled-count histogram {times}"
    assert distinct_n == TOTAL
    assert left_in_outbox == 0
    assert DeadLetterStore(amqp_uri).list(["probe.count"]) == []
    engine.dispose()
