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


# Unit and contract tests fail on a deprecation warning: what Python or a library deprecates today is gone in
# a later version (3.12, 3.13). Third-party warnings we cannot fix are ignored here, each with its origin.
THIRD_PARTY_DEPRECATIONS = (
    r"ignore:\s*Eventlet is deprecated:DeprecationWarning",  # eventlet's maintenance mode (docs/engineering.md)
    r"ignore:Using fork\(\) is a bad idea:DeprecationWarning",  # eventlet, when the directory import forks its reader
)
_STRICT = pytest.mark.filterwarnings("error::DeprecationWarning", "error::PendingDeprecationWarning",
                                     *THIRD_PARTY_DEPRECATIONS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(("tests/unit/", "tests/contract/")):
            item.add_marker(_STRICT)  # a test's or module's own filterwarnings marks still win
