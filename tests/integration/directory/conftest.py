"""A running directory service (real nameko, RabbitMQ vhost, database per backend) over a seeded directory."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from nameko.runners import ServiceRunner

from services.directory.service import DirectoryService
from services.shared.auth import DevIssuer
from services.shared.nameko_ext.config import container_config
from services.shared.settings import Settings
from tests.support.broker import isolated_vhost
from tests.support.databases import backends, new_database, remove_database
from tests.support.platform import Observer, free_port
from tests.unit.directory.directory_world import seed


@dataclass
class Directory:
    base_url: str
    issuer: DevIssuer
    amqp_uri: str
    database_url: str

    def client(self, *, rpps: str | None = None, roles: tuple[str, ...] = (), service: str | None = None,
               token: bool = True) -> httpx.Client:
        headers = {}
        if token:
            minted = self.issuer.mint(rpps=rpps, roles=roles, service=service or (None if rpps or roles else "tests"))
            headers["Authorization"] = f"Bearer {minted}"
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@pytest.fixture(scope="package", params=backends())
def directory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """On a vhost of its own: pytest keeps a parametrized package fixture alive past its package, and a real
    `directory` answering RPC beside another package's directory (over other data) would take half of its calls."""
    var_dir = tmp_path_factory.mktemp("var")
    url = new_database(str(request.param), var_dir, "directory")
    seed(url, var_dir)  # its two directory.imported events wait in the outbox for the service's relay
    port = free_port()
    with isolated_vhost("maillage-test-directory") as amqp_uri:
        settings = Settings(environment="test", amqp_uri=amqp_uri, var_dir=var_dir, http_address=f"127.0.0.1:{port}",
                            service_database_urls={"directory": url}, bus_retry_delays_ms=(100, 200))
        runner = ServiceRunner(container_config(settings))
        runner.add_service(DirectoryService)
        runner.start()
        try:
            yield Directory(f"http://127.0.0.1:{port}", DevIssuer(var_dir), amqp_uri, url)
        finally:
            runner.kill()
            remove_database(url)




@pytest.fixture
def observer(directory: Directory) -> Iterator[Observer]:
    watching = Observer(directory.amqp_uri, "professional.*", "certificate.*")
    try:
        yield watching
    finally:
        watching.close()
