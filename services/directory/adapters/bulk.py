"""Set-based SQL for bulk imports: chunked upserts that leave unchanged rows alone, SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Upsert:
    """``INSERT … ON CONFLICT (keys) DO UPDATE … WHERE content_hash differs OR NOT active``.

    Records are tuples in ``columns`` order; the statement sets ``active`` and ``updated_at``,
    and stores an empty optional text as NULL (the database does it: no per-value Python).
    """

    table: sa.Table
    columns: tuple[str, ...]
    keys: tuple[str, ...]

    def values(self, sources: Sequence[str]) -> str:
        """The inserted expressions, one per column, reading each from ``sources``."""
        return ", ".join(f"NULLIF({source}, '')" if self._optional_text(column) else source
                         for column, source in zip(self.columns, sources, strict=True))

    def sql(self, source: str, *, append: bool = False) -> str:
        """The statement; ``append`` leaves out the conflict clause (a first load, key index dropped)."""
        name = self.table.name
        if append:
            return f"INSERT INTO {name} ({', '.join(self.columns)}, active, updated_at) {source}"
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*self.columns, "active", "updated_at")
                            if c not in self.keys)
        return (f"INSERT INTO {name} ({', '.join(self.columns)}, active, updated_at) {source} "
                f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {updates} "
                f"WHERE {name}.content_hash <> excluded.content_hash OR NOT {name}.active")

    def _optional_text(self, column: str) -> bool:
        type_ = self.table.c[column].type
        return bool(self.table.c[column].nullable) and isinstance(type_, sa.String)


class TableWriter:
    """Writes chunks of records through an ``Upsert``; returns how many were inserted or changed.

    SQLite runs it once per record (``executemany`` on the driver's cursor: in-process, no round
    trip, and SQLAlchemy's per-statement work would cost more than SQLite's own). PostgreSQL
    copies the chunk into a temporary table (``COPY``) and upserts from it in one statement:
    per-record statements or array parameters cost ten times more there.
    """

    def __init__(self, connection: sa.Connection, upsert: Upsert, now: float, *, append: bool = False) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"
        columns = ", ".join(upsert.columns)
        if self._postgres:
            self._stage = f"stage_{upsert.table.name}"
            connection.exec_driver_sql(
                f"CREATE TEMP TABLE {self._stage} ON COMMIT DROP AS "
                f"SELECT {columns} FROM {upsert.table.name} WITH NO DATA")
            self._copy = f"COPY {self._stage} ({columns}) FROM STDIN"
            keys = ", ".join(upsert.keys)
            # A key met twice in a chunk: the later line wins, as it does on SQLite.
            latest = (f"(SELECT DISTINCT ON ({keys}) * FROM {self._stage} "
                      f"ORDER BY {keys}, ctid DESC) AS s")
            source = self._stage if append else latest
            self._sql = upsert.sql(f"SELECT {upsert.values(upsert.columns)}, true, {now!r} FROM {source}",
                                   append=append)
        else:
            self._sql = upsert.sql(f"VALUES ({upsert.values(['?'] * len(upsert.columns))}, true, {now!r})",
                                   append=append)

    def write(self, records: Sequence[tuple[Any, ...]]) -> int:
        if not records:
            return 0
        if self._postgres:
            copy_rows(self._connection, self._copy, records)
            changed = self._connection.exec_driver_sql(self._sql).rowcount
            self._connection.exec_driver_sql(f"TRUNCATE {self._stage}")
        else:
            cursor = driver_cursor(self._connection)
            cursor.executemany(self._sql, records)
            changed = cursor.rowcount
            cursor.close()
        return max(changed, 0)


def driver_cursor(connection: sa.Connection) -> Any:
    """A cursor of the driver's own connection, inside the same transaction."""
    return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def copy_rows(connection: sa.Connection, copy_sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL ``COPY … FROM STDIN`` of ``rows`` through psycopg."""
    with driver_cursor(connection) as cursor, cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row(row)


class SeenKeys:
    """A temporary table of the keys an import met, to deactivate the rows it did not meet.

    It has no index while it fills (one built at the end is cheaper) and so takes repeated
    keys as they come.
    """

    def __init__(self, connection: sa.Connection, name: str, keys: tuple[str, ...]) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"
        self.name, self.keys = name, keys
        columns = ", ".join(f"{key} TEXT NOT NULL" for key in keys)
        if self._postgres:
            connection.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")
        else:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
            connection.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns})")
        self._copy = f"COPY {name} ({', '.join(keys)}) FROM STDIN"
        self._insert = f"INSERT INTO {name} VALUES ({', '.join('?' for _ in keys)})"

    def add(self, keys: Sequence[tuple[str, ...]]) -> None:
        if self._postgres:
            copy_rows(self._connection, self._copy, keys)
        elif keys:
            cursor = driver_cursor(self._connection)
            cursor.executemany(self._insert, keys)
            cursor.close()

    def deactivate_unseen(self, table: sa.Table, now: float, *, spare: str = "") -> int:
        """Mark inactive the active rows of ``table`` whose keys were not met; how many.

        ``spare`` is an SQL condition on ``table``'s row naming rows the import does not own:
        they stay as they are even when the extract does not list them.
        """
        self._connection.exec_driver_sql(f"CREATE INDEX ix_{self.name} ON {self.name} ({', '.join(self.keys)})")
        match = " AND ".join(f"s.{key} = {table.name}.{key}" for key in self.keys)
        kept = f" AND NOT ({spare})" if spare else ""
        result = self._connection.exec_driver_sql(
            f"UPDATE {table.name} SET active = false, updated_at = {now!r} WHERE active "
            f"AND NOT EXISTS (SELECT 1 FROM {self.name} s WHERE {match}){kept}")
        return max(result.rowcount, 0)

    def drop(self) -> None:
        self._connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self.name}")


def count_rows(connection: sa.Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def drop_indexes(connection: sa.Connection, tables: Sequence[sa.Table]) -> list[sa.Index]:
    """Drop the secondary indexes of ``tables``: a first load then builds each one in one sort."""
    dropped = [index for table in tables for index in sorted(table.indexes, key=lambda i: str(i.name))]
    for index in dropped:
        index.drop(connection)
    return dropped


def create_indexes(connection: sa.Connection, indexes: Sequence[sa.Index]) -> None:
    for index in indexes:
        index.create(connection)
