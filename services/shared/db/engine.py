"""Engine construction: SQLite tuned for a single-node platform, PostgreSQL created on demand."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from services.shared.files import private_directory, private_sqlite

_WRITE_WAIT_SECONDS = 30.0


def redact_url(url: str) -> str:
    """The URL without its password, safe for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine whose every connection is ready for concurrent workers."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,  # a statement's values (names, addresses, ciphertext) never in an error's text
        )
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            database = parsed.database
            private_directory(Path(database).parent)
            # Before SQLite opens it, each time (a file deleted meanwhile is created 0600 again).
            sa.event.listen(engine, "do_connect", lambda *_args: private_sqlite(database))
        sa.event.listen(engine, "connect", _tune_sqlite)
        sa.event.listen(engine, "begin", _begin_sqlite)
        return engine
    _cooperative_psycopg()
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True)
    dialect = engine.dialect
    sa.event.listen(engine, "checkin", _note_checkin)
    sa.event.listen(engine, "checkout", lambda dbapi, record, _proxy: _ping_after_idle(dialect, dbapi, record))
    return engine


# A pooled PostgreSQL connection idle this long is pinged before use (a server restart or an idle timeout
# shows there, and the pool replaces it); one back from work a moment ago is not: pinging it was a round trip
# on every checkout (4 % of the platform's CPU in the messaging bench). If it broke meanwhile, its first
# statement fails as a disconnect and SQLAlchemy invalidates the pool: an HTTP caller gets a 503 to retry
# (web/entrypoint.py), a bus handler is retried.
PING_AFTER_IDLE_SECONDS = 1.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_after_idle(dialect: sa.Dialect, dbapi_connection: Any, record: Any) -> None:
    since = record.info.pop("idle_since", None)
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return  # just connected, or just used
    try:
        dialect.do_ping(dbapi_connection)  # SELECT 1 in autocommit, as pool_pre_ping does
    except Exception as exc:  # the pool drops this connection and checks out another
        raise sa.exc.DisconnectionError(f"a pooled connection is gone ({exc.__class__.__name__})") from exc


def _cooperative_psycopg() -> None:
    """Make psycopg wait for the server through eventlet's hub (``_green_wait``).

    Its C wait function blocks the whole process: under eventlet, a query waiting for a lock held
    by another green thread of the same process would then wait forever.
    """
    import eventlet.patcher
    from psycopg import waiting

    if eventlet.patcher.is_monkey_patched("select") and waiting.wait is not _green_wait:
        waiting.wait = _green_wait


def _green_wait(gen: Any, fileno: int, interval: float = 0.0, timeout: float | None = None) -> Any:
    """psycopg's wait function under eventlet: the green thread parks on the hub until the socket is
    ready (``eventlet.hubs.trampoline``), then resumes psycopg's generator.

    What psycopg's ``wait_select`` does through the green select module, with less on the way: no
    descriptor lists and no timer per wait (its 0.1 s interval only serves Ctrl-C, which eventlet
    delivers anyway). A round trip is the unit of a database call's cost here: ≈ 20 µs of CPU saved
    on each (bench/messaging.py, docs/messaging.md). A wait with a deadline keeps ``wait_select``.
    """
    from eventlet.green import select
    from eventlet.hubs import trampoline
    from psycopg import waiting

    if timeout is not None:
        return waiting.wait_select(gen, fileno, interval, timeout)
    try:
        state = next(gen)
        while True:
            if state == waiting.WAIT_R:
                trampoline(fileno, read=True)
                state = gen.send(waiting.READY_R)
            elif state == waiting.WAIT_W:
                trampoline(fileno, write=True)
                state = gen.send(waiting.READY_W)
            else:  # both (a large query not sent yet): the green select says which
                readable, writable, _ = select.select([fileno], [fileno], [], None)
                state = gen.send((waiting.READY_R if readable else 0) | (waiting.READY_W if writable else 0))
    except StopIteration as done:
        return done.value


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers run beside the single writer; NORMAL sync is durable across process
    # crashes (the power-loss window is the OS's), which is the embedded default's promise.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # pysqlite's own transaction handling defers BEGIN; we want SQLAlchemy to issue it.
    dbapi_connection.isolation_level = None


def _begin_sqlite(conn: sa.Connection) -> None:
    # Writers take the lock up front (IMMEDIATE): a deferred transaction that reads then
    # writes fails with SQLITE_BUSY_SNAPSHOT under WAL instead of waiting its turn.
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    if mode != "IMMEDIATE":
        conn.exec_driver_sql(f"BEGIN {mode}")
        return
    # SQLite's own busy handler sleeps inside C and would freeze every green thread of the
    # process, including the one holding the lock. Wait here instead, yielding while we wait.
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline, delay = time.monotonic() + _WRITE_WAIT_SECONDS, 0.0005
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
    finally:
        raw.execute("PRAGMA busy_timeout=30000")


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named by ``url`` when it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database or delete a SQLite file (tests and `maillage reset`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()
