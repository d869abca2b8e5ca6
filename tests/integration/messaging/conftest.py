"""A running messaging service beside the real directory service (real nameko, RabbitMQ vhost, databases).

The people, mailboxes and certificates: tests/support/messaging_world.py."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from nameko.runners import ServiceRunner

from services.directory.service import DirectoryService
from services.messaging.service import MessagingService
from services.shared.auth import DevIssuer
from services.shared.db.migrations import upgrade
from services.shared.nameko_ext.config import container_config
from services.shared.settings import Settings
from tests.support.broker import isolated_vhost
from tests.support.databases import backends, new_database, remove_database
from tests.support.messaging_world import RPPS, make_pki, seed_directory
from tests.support.pki import Identity
from tests.support.platform import eventually, free_port


@pytest.fixture(scope="package")
def pki() -> dict[str, Identity]:
    return make_pki("Maillage Integration CA")


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
def platform(request: pytest.FixtureRequest, pki: dict[str, Identity],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Messaging beside the real directory service, on a vhost of their own (see the directory's conftest)."""
    var_dir = tmp_path_factory.mktemp("var")
    url = new_database(str(request.param), var_dir, "messaging")
    upgrade("messaging", url)
    directory_url = new_database(str(request.param), var_dir, "directory")
    seed_directory(directory_url, var_dir, pki)
    port = free_port()
    with isolated_vhost("maillage-test-messaging") as vhost:
        settings = Settings(environment="test", amqp_uri=vhost, var_dir=var_dir, http_address=f"127.0.0.1:{port}",
                            service_database_urls={"messaging": url, "directory": directory_url},
                            bus_retry_delays_ms=(100, 200))
        runner = ServiceRunner(container_config(settings))
        runner.add_service(MessagingService)
        runner.add_service(DirectoryService)
        runner.start()
        try:
            yield Platform(f"http://127.0.0.1:{port}", DevIssuer(var_dir), var_dir, url, vhost)
        finally:
            runner.kill()
            remove_database(url)
            remove_database(directory_url)


def in_mailbox(client: httpx.Client, mailbox: str, message_id: str, folder: str = "inbox") -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        page = client.get(f"/api/v1/mailboxes/{mailbox}/messages", params={"folder": folder, "limit": 200}).json()
        return next((m for m in page["messages"] if m["id"] == message_id), None)
    return eventually(find)  # type: ignore[no-any-return]
