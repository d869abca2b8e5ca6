"""`maillage up --workers N`: N processes behind one port, a dead one replaced, the port never shared by accident."""
from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import maillage, run_maillage, wait_ready
from tests.support.broker import isolated_vhost
from tests.support.platform import eventually, free_port


def workers_of(supervisor: subprocess.Popen[bytes]) -> list[int]:
    with open(f"/proc/{supervisor.pid}/task/{supervisor.pid}/children") as children:
        return [int(pid) for pid in children.read().split()]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, dict[str, str]]]:
    port = free_port()
    with isolated_vhost("maillage-workers") as uri:
        env = {**os.environ, "AMQP_URI": uri, "MAILLAGE_VAR_DIR": str(tmp_path), "MAILLAGE_ENV": "test",
               "MAILLAGE_HTTP_ADDRESS": f"127.0.0.1:{port}", "MAILLAGE_LOG_LEVEL": "ERROR"}
        supervisor = maillage("up", "--only", "directory", "--workers", "2", env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, supervisor)
            yield supervisor, base, env
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
                supervisor.wait()


def test_two_workers_serve_one_port_and_a_dead_one_is_replaced(up) -> None:
    supervisor, base, _ = up
    first = eventually(lambda: (pids := workers_of(supervisor)) and len(pids) == 2 and pids)
    os.kill(first[0], signal.SIGKILL)
    replaced = eventually(lambda: (pids := workers_of(supervisor)) and len(pids) == 2 and first[0] not in pids
                          and pids)
    assert first[1] in replaced
    wait_ready(base, supervisor)
    for _ in range(20):  # new connections each time: the kernel spreads them over both workers
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200


def test_a_second_platform_on_the_same_port_is_refused_in_one_sentence(up) -> None:
    _, base, env = up
    again = run_maillage("up", "--only", "directory", "--workers", "2", env=env)
    assert again.returncode == 1
    assert f"Cannot listen on {base.removeprefix('http://')}" in again.stderr + again.stdout
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200


def test_sigterm_stops_every_worker_cleanly(up) -> None:
    supervisor, _, _ = up
    pids = eventually(lambda: (found := workers_of(supervisor)) and len(found) == 2 and found)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=60) == 0
    assert not [pid for pid in pids if os.path.exists(f"/proc/{pid}") and _state(pid) != "Z"]


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
