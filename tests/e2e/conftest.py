"""The platform started as a user starts it (`maillage up`), its directory fed by `maillage directory import`,
then driven over HTTP and watched on AMQP only. One platform for the whole e2e package."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.directory.synth import write_extract
from services.shared.auth import DevIssuer
from tests.support.broker import isolated_vhost
from tests.support.platform import die_with_parent, free_port
from tests.unit.directory.directory_world import write_known, write_mailboxes

REPO = Path(__file__).resolve().parents[2]


def maillage(*args: str, env: dict[str, str], **options: Any) -> subprocess.Popen[bytes]:
    """The `maillage` command, as a user runs it."""
    return subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=REPO, env=env,
                            preexec_fn=die_with_parent, **options)


def run_maillage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = maillage(*args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = command.communicate(timeout=300)
    return subprocess.CompletedProcess(command.args, command.returncode, out.decode(), err.decode())


@dataclass
class Platform:
    base: str
    uri: str
    env: dict[str, str]
    var: Path
    issuer: DevIssuer

    def client(self, **claims: Any) -> httpx.Client:
        token = self.issuer.mint(**claims)
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "maillage up exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "maillage up did not become ready"
        time.sleep(0.1)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """`maillage up` with every service, on a vhost of its own, the directory imported from extracts."""
    var_dir = tmp_path_factory.mktemp("var")
    port = free_port()
    with isolated_vhost("maillage-e2e") as uri:
        env = {**os.environ, "AMQP_URI": uri, "MAILLAGE_VAR_DIR": str(var_dir), "MAILLAGE_ENV": "test",
               "MAILLAGE_HTTP_ADDRESS": f"127.0.0.1:{port}", "MAILLAGE_LOG_LEVEL": "ERROR"}
        log = var_dir / "maillage-up.log"
        with open(log, "wb") as output:  # the child keeps its own copy of the descriptor
            up = maillage("up", env=env, stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, up)
            yield Platform(base, uri, env, var_dir, DevIssuer(var_dir))
        finally:
            up.send_signal(signal.SIGTERM)
            assert up.wait(timeout=60) == 0, "maillage up did not stop cleanly: " + log.read_text()[-3000:]


@pytest.fixture(scope="session")
def imported(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Platform:
    """The national extract (synthetic lines and the known people) and the MSSanté extract, imported."""
    folder = tmp_path_factory.mktemp("extracts")
    people, mailboxes = folder / "PS_LibreAcces_Personne_activite_e2e.txt", folder / "Extraction_MSSante_e2e.txt"
    write_extract(people, 3000, seed=11)
    write_known(people)
    write_mailboxes(mailboxes)
    for extract in (people, mailboxes):
        result = run_maillage("directory", "import", str(extract), env=platform.env)
        assert result.returncode == 0, result.stderr
    return platform
