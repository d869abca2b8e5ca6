"""PostgreSQL's pool (services/shared/db/engine.py): a connection idle in the pool is pinged before use and
replaced when the server dropped it; one just used is not pinged, and if it broke meanwhile its first
statement fails once and the next checkout gets a new connection."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from services.shared.db import engine as engine_module
from services.shared.db import make_engine

pytestmark = pytest.mark.integration


@pytest.fixture
def url(make_database, database_backend: str) -> str:  # type: ignore[no-untyped-def]
    if database_backend != "postgresql":
        pytest.skip("the ping on checkout is PostgreSQL's")
    return str(make_database("pool"))


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    engine = make_engine(url, pool_size=1)
    yield engine
    engine.dispose()


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text("SELECT pg_backend_pid()")))


def terminate(url: str, pid: int) -> None:
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.connect() as conn:
            assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        admin.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
        engine: sa.Engine, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = backend_pid(engine)
    terminate(url, first)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # idle long enough

    assert backend_pid(engine) != first  # no error: the ping found it gone


def test_a_connection_just_used_is_not_pinged_and_a_broken_one_fails_once(
        engine: sa.Engine, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = backend_pid(engine)
    pings: list[object] = []
    monkeypatch.setattr(engine.dialect, "do_ping", pings.append)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 3600.0)

    assert backend_pid(engine) == first
    assert pings == []  # no round trip before the work
    terminate(url, first)
    with pytest.raises(sa.exc.OperationalError) as broken:
        backend_pid(engine)
    assert broken.value.connection_invalidated
    assert backend_pid(engine) != first


def test_a_database_error_never_carries_the_statements_values(make_database, database_backend: str) -> None:  # type: ignore[no-untyped-def]
    """Errors reach logs and dead-letter headers: names, addresses or ciphertext must not ride along."""
    engine = make_engine(str(make_database("hidden")), pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"))
            conn.execute(sa.text("INSERT INTO person VALUES (1, 'Jeanne Dupont')"))
        with pytest.raises(sa.exc.IntegrityError) as clash, engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO person VALUES (:id, :name)"), [{"id": 1, "name": "Paul Martin"}])
        assert "Paul Martin" not in str(clash.value) and "parameters hidden" in str(clash.value)
    finally:
        engine.dispose()
