"""What every import store shares: table locks, SQLite tuning, counts, cascaded deactivation."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass

import sqlalchemy as sa

_SQLITE_CACHE_KIB = 131_072  # 128 MiB: the working set of an import stays in memory, and RSS flat
_SQLITE_SORT_THREADS = 2  # the machine's cores (the reading process is done when indexes are built)
# SQLite's sorter keeps in memory what fits in the page cache, sorts it, and only then hands work to
# its threads: with a small cache it sorts many small runs on both cores and merges them, which
# built the 2-million-row indexes in a third of the time the large cache took.
_SQLITE_SORT_CACHE_KIB = 2_048


@dataclass(frozen=True)
class Counts:
    """What an import did to the records of its kind (activities, or mailboxes)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    active_before: int = 0


def lock(connection: sa.Connection, tables: Sequence[sa.Table]) -> None:
    """One import at a time, and no other writer meanwhile; readers go on (SQLite: BEGIN IMMEDIATE)."""
    if connection.dialect.name == "postgresql":
        names = ", ".join(table.name for table in tables)
        connection.exec_driver_sql("SET LOCAL lock_timeout = '30s'")  # as SQLite's busy timeout
        connection.exec_driver_sql(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
        connection.exec_driver_sql("SET LOCAL lock_timeout = 0")


def tuned(connection: sa.Connection) -> AbstractContextManager[None]:
    """A large page cache and a parallel sorter for the import's connection, given back afterwards.

    Index builds after a first load sort millions of keys: SQLite's sorter then uses a second core."""
    return _sqlite_pragmas(connection, cache_size=-_SQLITE_CACHE_KIB, threads=_SQLITE_SORT_THREADS)


def sorting(connection: sa.Connection) -> AbstractContextManager[None]:
    """A small page cache while building indexes (SQLite; inside ``tuned``): see ``_SQLITE_SORT_CACHE_KIB``."""
    return _sqlite_pragmas(connection, cache_size=-_SQLITE_SORT_CACHE_KIB)


@contextmanager
def _sqlite_pragmas(connection: sa.Connection, **values: int) -> Iterator[None]:
    """Set these pragmas on a SQLite connection for the block, and give the previous values back."""
    if connection.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection: this must also work after a failed statement, before rollback.
    raw = connection.connection.dbapi_connection
    assert raw is not None
    before = {name: int(raw.execute(f"PRAGMA {name}").fetchone()[0]) for name in values}
    for name, value in values.items():
        raw.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        for name, value in before.items():
            raw.execute(f"PRAGMA {name} = {value}")


@contextmanager
def rollback_journal(engine: sa.Engine, table: sa.Table) -> Iterator[bool]:
    """SQLite, a first load (``table`` empty) with no other connection open: a rollback journal.

    In WAL mode every page of a first load is written twice: into the write-ahead log, then by the
    checkpoint into the database (1 GB each way for 2 million activities). With a rollback journal
    the pages go straight into the file and only the few pages that existed before the import are
    journaled (pages past the file's old end need none): a crash mid-import leaves a hot journal,
    and the next connection rolls the file back to its previous state. A committed import is
    synced, down to the journal's removal from its directory (``synchronous=EXTRA`` meanwhile).
    Leaving WAL needs the only connection to the file: when another one is open (the service
    running), the import stays in WAL. Readers wait for the commit meanwhile (a first load has
    nothing to show yet). WAL comes back afterwards.
    Yields whether the journal was switched.
    """
    if engine.dialect.name != "sqlite" or not _switch_journal(engine, table):
        yield False
        return
    try:
        yield True
    finally:
        _back_to_wal(engine)


def _back_to_wal(engine: sa.Engine) -> None:
    raw = engine.raw_connection()
    try:
        raw.execute("PRAGMA synchronous=NORMAL")
        with suppress(sqlite3.OperationalError):  # else the next connection's set-up switches it back
            raw.execute("PRAGMA journal_mode=WAL")
    finally:
        raw.close()


def _switch_journal(engine: sa.Engine, table: sa.Table) -> bool:
    raw = engine.raw_connection()
    try:
        if raw.execute(f"SELECT EXISTS (SELECT 1 FROM {table.name})").fetchone()[0]:
            return False
        raw.execute("PRAGMA busy_timeout=0")  # another connection holds the file: stay in WAL, now
        try:
            mode = raw.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError:
            return False
        finally:
            raw.execute("PRAGMA busy_timeout=30000")
        if mode != "delete":
            return False
        raw.execute("PRAGMA synchronous=EXTRA")  # the journal's unlinking (the commit) synced too
        return True
    finally:
        raw.close()


def counts(*, accepted: int, changed: int, created: int, deactivated: int, active_before: int) -> Counts:
    """Every accepted line is created, updated or unchanged (a repeated line counts as unchanged)."""
    updated = max(changed - created, 0)
    return Counts(created=created, updated=updated, unchanged=max(accepted - created - updated, 0),
                  deactivated=deactivated, active_before=active_before)


def count_active(connection: sa.Connection, table: sa.Table) -> int:
    query = sa.select(sa.func.count()).select_from(table).where(table.c.active)
    return int(connection.execute(query).scalar_one())


def deactivate_orphans(connection: sa.Connection, parent: sa.Table, child: sa.Table, link: tuple[str, str],
                       now: float, lost: sa.ColumnElement[bool], *only: sa.ColumnElement[bool]) -> int:
    """Mark inactive the active ``parent`` rows that no active ``child`` row points to any more.

    Only the parents of the ``lost`` child rows (those just deactivated) are looked at, and
    among them those matching ``only``.
    """
    child_column, parent_column = link
    children = child.alias("c")
    touched = sa.select(child.c[child_column]).where(lost)
    orphan = ~sa.exists().where(children.c[child_column] == parent.c[parent_column], children.c.active)
    result = connection.execute(parent.update().where(
        parent.c.active, parent.c[parent_column].in_(touched), orphan, *only).values(active=False, updated_at=now))
    return max(result.rowcount, 0)
