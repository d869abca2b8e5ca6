"""A running messaging service (real nameko, RabbitMQ vhost, database) beside a stand-in directory."""
from __future__ import annotations

import ctypes
import ctypes.util
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from nameko.runners import ServiceRunner

from services.messaging.crypto.testing import Identity, make_ca, make_identity
from services.messaging.service import MessagingService
from services.shared.auth import DevIssuer
from services.shared.db.migrations import upgrade
from services.shared.nameko_ext.config import container_config
from services.shared.settings import Settings
from tests.support.databases import backends, new_database, remove_database
from tests.support.directory_standin import standin_service

RPPS = {"alice": "10000000009", "bob": "10000000017", "carol": "10000000025", "dave": "10000000033"}
ALICE, BOB, CAROL = "alice@cabinet.test", "bob@cabinet.test", "carol@clinique.test"
SECRETARIAT, INACTIVE, NEWCOMER = "secretariat@msp.test", "ferme@cabinet.test", "nouveau@cabinet.test"
REVOKED = "revocation@cabinet.test"  # its certificate gets revoked by a test: used by no other test
OBJECTING_INS = "269054958815780"


def die_with_parent() -> None:
    """preexec_fn for test subprocesses: Linux kills them if the test run dies without its teardown."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def resolved(address: str, identity: Identity | None, owners: tuple[str, ...], kind: str = "PER",
             active: bool = True) -> dict[str, Any]:
    pem = identity.cert.public_bytes(serialization.Encoding.PEM).decode() if identity else None
    return {"address": address, "type": kind, "active": active, "owners": [{"rpps": r} for r in owners],
            "organisation_finess": None, "certificate_pem": pem, "certificate_fingerprint": None}


def directory_fixture(pki: dict[str, Identity]) -> dict[str, Any]:
    return {"mailboxes": [
        resolved(ALICE, pki["alice"], (RPPS["alice"],)),
        resolved(BOB, pki["bob"], (RPPS["bob"],)),
        resolved(CAROL, pki["carol"], (RPPS["carol"],)),
        resolved(SECRETARIAT, pki["dave"], (RPPS["bob"], RPPS["carol"]), kind="ORG"),
        resolved(INACTIVE, pki["dave"], (RPPS["dave"],), active=False),
        resolved(NEWCOMER, pki["dave"], (RPPS["dave"],)),
        *([resolved(REVOKED, pki["erin"], (RPPS["dave"],))] if "erin" in pki else []),
    ], "objections": [OBJECTING_INS]}


@pytest.fixture(scope="package")
def pki() -> dict[str, Identity]:
    ca = make_ca("Maillage Integration CA")
    return {"ca": ca, "alice": make_identity(ca, "Alice Martin"), "bob": make_identity(ca, "Bob Durand"),
            "carol": make_identity(ca, "Carol Petit", kind="ec"), "dave": make_identity(ca, "Dave Bernard"),
            "erin": make_identity(ca, "Erin Revoquee")}


@pytest.fixture(scope="package")
def pem_files(pki: dict[str, Identity], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pem")
    for name, identity in pki.items():
        identity.write(folder, name)
    return folder


@dataclass
class Platform:
    base_url: str
    issuer: DevIssuer
    var_dir: Path
    database_url: str
    amqp_uri: str

    def client(self, who: str) -> httpx.Client:
        token = self.issuer.mint(rpps=RPPS[who]) if who in RPPS else self.issuer.mint(service=who)
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="package", params=backends())
def platform(request: pytest.FixtureRequest, amqp_uri: str, pki: dict[str, Identity],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir = tmp_path_factory.mktemp("var")
    url = new_database(str(request.param), var_dir, "messaging")
    upgrade("messaging", url)
    port = free_port()
    settings = Settings(environment="test", amqp_uri=amqp_uri, var_dir=var_dir, http_address=f"127.0.0.1:{port}",
                        service_database_urls={"messaging": url}, bus_retry_delays_ms=(100, 200))
    runner = ServiceRunner(container_config(settings))
    runner.add_service(MessagingService)
    runner.add_service(standin_service(directory_fixture(pki)))
    runner.start()
    try:
        yield Platform(f"http://127.0.0.1:{port}", DevIssuer(var_dir), var_dir, url, amqp_uri)
    finally:
        runner.kill()
        remove_database(url)


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until ``check`` returns something truthy; fail (not time) if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "the expected state was not reached"
        time.sleep(0.05)


def in_mailbox(client: httpx.Client, mailbox: str, message_id: str, folder: str = "inbox") -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        page = client.get(f"/api/v1/mailboxes/{mailbox}/messages", params={"folder": folder, "limit": 200}).json()
        return next((m for m in page["messages"] if m["id"] == message_id), None)
    return eventually(find)  # type: ignore[no-any-return]
