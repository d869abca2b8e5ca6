"""Read-only connections for searches and RPC answers, and dates as stored by either backend."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

Reader = Callable[[], AbstractContextManager[sa.Connection]]
# SQLite reads the directory file through mmap: a search's random lookups then cost no system call.
MMAP_BYTES = 8 << 30


def tune_for_search(engine: sa.Engine) -> None:
    """Once per engine, before its first connection (SQLite only; PostgreSQL has its own shared buffers)."""
    if engine.dialect.name != "sqlite":
        return

    def mmap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA mmap_size={MMAP_BYTES}")

    sa.event.listen(engine, "connect", mmap)


def reader(engine: sa.Engine) -> Reader:
    """Read transactions that take no write lock: SQLite's default BEGIN here is IMMEDIATE (one writer)."""

    @contextmanager
    def read() -> Iterator[sa.Connection]:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as connection, connection.begin():
            yield connection

    return read


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes for timezone-aware columns: they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
