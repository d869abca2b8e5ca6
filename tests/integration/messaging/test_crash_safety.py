"""2,000 messages over HTTP while the platform is SIGKILLed and restarted: every 202 is delivered exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.messaging.adapters.tables import entries, messages
from services.shared.auth import DevIssuer
from services.shared.db.migrations import upgrade
from tests.support.broker import isolated_vhost
from tests.support.messaging_world import ALICE, BOB, RPPS, seed_directory
from tests.support.pki import Identity
from tests.support.platform import die_with_parent, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[3]
TOTAL, SENDERS = 2_000, 8
KILL_AT = (0.25, 0.6)


class Platform:
    """`maillage up --only <service>` as a user runs it, in a process of its own (messaging's gets killed)."""

    def __init__(self, env: dict[str, str], base_url: str, only: str = "messaging") -> None:
        self.env, self.base_url, self.only, self.process = env, base_url, only, None  # type: ignore[var-annotated]

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--only", self.only],
                                        cwd=REPO, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        preexec_fn=die_with_parent)
        deadline = time.monotonic() + 60
        while not self._ready():
            assert self.process.poll() is None, "maillage up exited"
            assert time.monotonic() < deadline, "maillage up did not become ready"
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


@pytest.fixture
def directory(tmp_path: Path, pki: dict[str, Identity], make_database) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The real directory, `maillage up --only directory` in a process of its own, on a vhost of its own."""
    url = make_database("directory_crash")
    seed_directory(url, tmp_path, pki)
    port = free_port()
    with isolated_vhost("maillage-crash") as uri:
        env = {**os.environ, "AMQP_URI": uri, "MAILLAGE_DIRECTORY_DATABASE_URL": url, "MAILLAGE_VAR_DIR": str(tmp_path),
               "MAILLAGE_HTTP_ADDRESS": f"127.0.0.1:{port}", "MAILLAGE_LOG_LEVEL": "ERROR", "MAILLAGE_ENV": "test"}
        process = Platform(env, f"http://127.0.0.1:{port}", only="directory")
        process.start()
        try:
            yield uri
        finally:
            process.stop()


def send_all(base_url: str, token: str, keys: list[str], accepted: dict[str, str], lock: threading.Lock) -> None:
    """Each message until it gets its 202, retrying with the same Idempotency-Key through the crashes."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        deadline = time.monotonic() + 240
        for key in keys:
            body = {"sender": ALICE, "to": [BOB], "subject": f"Essai {key}", "body": {"text": "Bonjour.\n"}}
            while time.monotonic() < deadline:
                try:
                    answer = client.post("/api/v1/messages", json=body, headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    time.sleep(0.05)
                    continue
                if answer.status_code == 202:
                    with lock:
                        accepted[key] = answer.json()["id"]
                    break
                assert answer.status_code == 503, answer.text  # only "shutting down" may be retried
                time.sleep(0.05)


def test_every_accepted_message_is_delivered_exactly_once_across_sigkills(
        directory: str, make_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = make_database("messaging_crash")
    upgrade("messaging", url)
    port = free_port()
    env = {**os.environ, "AMQP_URI": directory, "MAILLAGE_MESSAGING_DATABASE_URL": url,
           "MAILLAGE_VAR_DIR": str(tmp_path),
           "MAILLAGE_HTTP_ADDRESS": f"127.0.0.1:{port}", "MAILLAGE_LOG_LEVEL": "ERROR", "MAILLAGE_ENV": "test",
           "MAILLAGE_RELAY_LEASE_SECONDS": "2", "MAILLAGE_BUS_RETRY_DELAYS_MS": "100,500"}
    platform = Platform(env, f"http://127.0.0.1:{port}")
    platform.start()
    token = DevIssuer(tmp_path).mint(rpps=RPPS["alice"])
    keys = [f"crash-{n}-{uuid.uuid4().hex[:8]}" for n in range(TOTAL)]
    accepted: dict[str, str] = {}
    lock = threading.Lock()
    senders = [threading.Thread(target=send_all, args=(platform.base_url, token, keys[i::SENDERS], accepted, lock))
               for i in range(SENDERS)]
    for sender in senders:
        sender.start()
    try:
        for fraction in KILL_AT:
            deadline = time.monotonic() + 120
            while len(accepted) < TOTAL * fraction:
                assert all(s.is_alive() for s in senders), "a sender stopped on an unexpected answer"
                assert time.monotonic() < deadline, f"only {len(accepted)} messages accepted in time"
                time.sleep(0.02)
            platform.kill()
            platform.start()
        for sender in senders:
            sender.join(timeout=120)
        engine = sa.create_engine(url)
        wait_until_delivered(engine, set(accepted.values()))
    finally:
        platform.stop()

    with engine.connect() as conn:
        stored = conn.scalar(sa.select(sa.func.count()).select_from(messages))
        copies = dict(conn.execute(sa.select(entries.c.message_id, sa.func.count()).where(
            entries.c.mailbox == BOB, entries.c.folder == "inbox").group_by(entries.c.message_id)).all())
    engine.dispose()
    assert len(accepted) == TOTAL and len(set(accepted.values())) == TOTAL  # one message per Idempotency-Key
    assert stored == TOTAL, "a retried submission was stored twice"
    assert set(copies) == set(accepted.values()) and set(copies.values()) == {1}


def wait_until_delivered(engine: sa.Engine, expected: set[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    query = sa.select(sa.func.count(sa.distinct(entries.c.message_id))).where(
        entries.c.mailbox == BOB, entries.c.folder == "inbox")
    while True:
        with engine.connect() as conn:
            delivered = conn.scalar(query) or 0
        if delivered >= len(expected):
            return
        assert time.monotonic() < deadline, f"only {delivered} of {len(expected)} accepted messages delivered"
        time.sleep(0.1)
