"""Test-wide set-up: eventlet must patch the standard library before anything imports it."""
import warnings

# eventlet announces its maintenance mode on import; we know (docs/architecture.md).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import isolated_vhost
from tests.support.databases import backends, new_database, remove_database


@pytest.fixture(scope="session")
def amqp_uri() -> Iterator[str]:
    """A RabbitMQ vhost of this test run's own, removed at the end."""
    with isolated_vhost() as uri:
        yield uri


@pytest.fixture(params=backends())
def database_backend(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once per configured backend (sqlite, postgresql)."""
    return str(request.param)


@pytest.fixture
def make_database(database_backend: str, tmp_path: Path) -> Iterator[object]:
    created: list[str] = []

    def make(name: str) -> str:
        url = new_database(database_backend, tmp_path, name)
        created.append(url)
        return url

    yield make
    for url in created:
        remove_database(url)
