"""An isolated RabbitMQ virtual host per test run, created and removed with rabbitmqctl."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

BROKER = os.environ.get("MAILLAGE_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def isolated_vhost(prefix: str = "maillage-test") -> Iterator[str]:
    """Yield an AMQP URI on a fresh vhost; the vhost and everything in it is deleted afterwards."""
    if shutil.which("rabbitmqctl") is None:
        raise RuntimeError("rabbitmqctl is needed to create an isolated vhost for the tests")
    vhost = f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
    _ctl("add_vhost", vhost)
    _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"{BROKER}/{vhost}"
    finally:
        _ctl("delete_vhost", vhost)
