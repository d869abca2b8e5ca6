"""Many rows into one table in one go, as cheaply as each backend allows.

``execute_rows(connection, statement, rows)`` runs an INSERT once per row. Build the statement once
(module level or ``lru_cache``): what each backend needs is derived from it once and cached by identity.

- PostgreSQL: one ``INSERT … SELECT unnest(:c1), unnest(:c2), …`` with one array per column, each
  sent in psycopg's binary format (in text, a bytea array is escaped byte by byte: ~20 times slower).
- SQLite: the statement compiled once to its SQL; the rows go to the driver's executemany as
  tuples (each value through its column type's bind processor, as SQLAlchemy would), without
  SQLAlchemy's per-execution cache-key lookup and per-row parameter building.
- Anything else (UPDATE, INSERT … SELECT, RETURNING on SQLite, a column whose value SQLAlchemy
  would compute): an ordinary executemany.

``execute_batches(connection, [(statement, rows), ...])`` writes several such batches, in order. On
PostgreSQL consecutive plain INSERTs (no RETURNING) go as ONE statement, each a data-modifying CTE
(``WITH w0 AS (INSERT … SELECT unnest(…)), w1 AS (…) INSERT … SELECT unnest(…)``): one round trip
instead of one per table, still one constant (prepared) statement per combination of tables. Foreign
keys between them hold (PostgreSQL checks them at the end of the statement); a unique violation in any
part is the statement's IntegrityError, as it was the part's. The parts run in no set order, so a table
is written by one part only: its next batch goes in the next statement.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

Processor = Callable[[Any], Any]

# Column types whose values psycopg sends as a plain PostgreSQL array.
_ARRAY_TYPES = (sa.String, sa.Integer, sa.Float, sa.Numeric, sa.LargeBinary, sa.Boolean, sa.DateTime, sa.Date, sa.Uuid)


class BinaryArray(list):  # type: ignore[type-arg]
    """A list psycopg sends as a binary array (its dumper is registered below); a plain list goes as text."""


def _register_binary_arrays() -> None:
    try:
        import psycopg
        from psycopg.types.array import ListBinaryDumper
    except ImportError:  # SQLite only
        return
    # before any connection is made: each copies the global adapters when it opens
    psycopg.adapters.register_dumper(BinaryArray, ListBinaryDumper)


_register_binary_arrays()


class _BinaryArrayParameter(sa.types.UserDefinedType):  # type: ignore[type-arg]
    """An array bound parameter of ``item_type`` values (each through its own bind processor) that reaches
    psycopg as a ``BinaryArray``; SQLAlchemy's ARRAY would hand it a plain list."""

    cache_ok = True

    def __init__(self, item_type: sa.types.TypeEngine[Any]) -> None:
        self.item_type = item_type

    def get_col_spec(self, **_: Any) -> str:
        raise NotImplementedError("a bound parameter only: cast it to postgresql.ARRAY(item_type)")

    def bind_processor(self, dialect: sa.Dialect) -> Processor:
        process_item = self.item_type.dialect_impl(dialect).bind_processor(dialect)

        def to_binary(value: Any) -> Any:
            if value is None:
                return None
            return BinaryArray(value if process_item is None else map(process_item, value))

        return to_binary


def _plain_insert_table(statement: sa.Executable) -> sa.Table | None:
    """The table of a plain ``INSERT INTO t`` (ON CONFLICT and RETURNING allowed), else None."""
    if not isinstance(statement, sa.Insert):
        return None
    table = getattr(statement, "table", None)
    if not isinstance(table, sa.Table) or getattr(statement, "_values", None) or getattr(
        statement, "_multi_values", None
    ) or getattr(statement, "select", None) is not None:
        return None
    return table


@lru_cache(maxsize=256)
def _unnest_insert(statement: sa.Insert, columns: tuple[str, ...], prefix: str = "unnest_") -> sa.Insert | None:
    """PostgreSQL: ``statement`` (a plain ``INSERT INTO t``, maybe with ON CONFLICT and RETURNING)
    rewritten as ``INSERT INTO t (columns) SELECT unnest(:c1), unnest(:c2), …``, so that many rows
    go as one array per column in one short, constant (prepared) statement.

    The alternatives cost far more on the client: psycopg's executemany sends a query per row,
    and a multi-row INSERT (insertmanyvalues) is a long statement, different for every row
    count, that psycopg parses again each time. None when the statement is not that simple.
    """
    table = _plain_insert_table(statement)
    if table is None:
        return None
    for column in table.columns:
        if column.name in columns:
            if not isinstance(column.type, _ARRAY_TYPES) or isinstance(column.type, sa.Enum):
                return None
        elif column.default is not None and not getattr(column.default, "is_scalar", False):
            return None  # a Python-side default computed per row: executemany computes it, unnest would not
    if any(name not in table.c for name in columns):
        return None
    arrays = [
        sa.func.unnest(sa.cast(sa.bindparam(f"{prefix}{i}", type_=_BinaryArrayParameter(table.c[name].type)),
                               postgresql.ARRAY(table.c[name].type)))
        for i, name in enumerate(columns)
    ]
    rewritten: sa.Insert = statement.from_select(list(columns), sa.select(*arrays))
    return rewritten


@lru_cache(maxsize=256)
def _combined_insert(parts: tuple[tuple[sa.Insert, tuple[str, ...]], ...]) -> sa.Insert | None:
    """PostgreSQL: plain INSERTs (no RETURNING), each with its row keys, as one statement: all but the
    last as data-modifying CTEs of the last, every one an ``INSERT … SELECT unnest(:w<k>_<i>)``. None
    when one of them cannot be rewritten."""
    rewritten = []
    for k, (statement, columns) in enumerate(parts):
        unnest = None if statement._returning else _unnest_insert(statement, columns, f"w{k}_")
        if unnest is None:
            return None
        rewritten.append(unnest)
    combined: sa.Insert = rewritten[-1].add_cte(*(part.cte(f"write_{k}") for k, part in enumerate(rewritten[:-1])))
    return combined


class DriverInsert:
    """A plain INSERT compiled once for one dialect and one set of row keys: its SQL and how to turn a row
    (a mapping) into the driver's positional parameters."""

    def __init__(self, sql: str, keys: tuple[str, ...], processors: tuple[tuple[int, Processor], ...]) -> None:
        self.sql = sql
        self._get = itemgetter(*keys)
        self._single = len(keys) == 1
        self._processors = processors

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        get, processors = self._get, self._processors
        values = [(get(row),) for row in rows] if self._single else [get(row) for row in rows]
        if not processors:
            return values
        processed = []
        for value in values:
            row = list(value)
            for index, process in processors:
                row[index] = process(row[index])
            processed.append(tuple(row))
        return processed


@lru_cache(maxsize=256)
def driver_insert(statement: sa.Insert, columns: tuple[str, ...], dialect: sa.Dialect) -> DriverInsert | None:
    """``statement`` (a plain INSERT, maybe with ON CONFLICT DO NOTHING, no RETURNING) compiled for rows
    with keys ``columns`` on a positional-parameter dialect (SQLite), or None when SQLAlchemy would add
    anything per execution: a column default to compute, a parameter the rows do not hold."""
    table = _plain_insert_table(statement)
    if table is None or statement._returning or any(name not in table.c for name in columns):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    keys = tuple(compiled.positiontup or ())
    if not compiled.positional or getattr(compiled, "escaped_bind_names", None) or not keys or any(
        key not in columns for key in keys
    ):
        return None
    processors = []
    for index, key in enumerate(keys):
        process = compiled.binds[key].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process))
    return DriverInsert(compiled.string, keys, tuple(processors))


def _same_keys(rows: Sequence[Mapping[str, Any]]) -> bool:
    first = rows[0].keys()
    return all(len(row) == len(first) and row.keys() == first for row in rows)


Batch = tuple[sa.Executable, Sequence[Mapping[str, Any]]]


def execute_batches(connection: sa.Connection, batches: Sequence[Batch]) -> None:
    """Run each batch's statement once per row of the batch, the batches in order (``execute_rows`` for
    each); on PostgreSQL, consecutive plain INSERTs of rows with the same keys as one statement."""
    batches = [(statement, rows) for statement, rows in batches if rows]
    if connection.dialect.name != "postgresql":
        for statement, rows in batches:
            execute_rows(connection, statement, rows)
        return
    run: list[tuple[sa.Insert, Sequence[Mapping[str, Any]]]] = []
    for statement, rows in batches:
        if isinstance(statement, sa.Insert) and not statement._returning and _same_keys(rows):
            if any(statement.table is other.table for other, _ in run):
                # PostgreSQL runs a statement's parts in no set order: a later batch's ON CONFLICT could
                # miss an earlier batch's rows of the same table. A table's second batch starts a new run.
                _execute_run(connection, run)
                run = []
            run.append((statement, rows))
            continue
        _execute_run(connection, run)
        run = []
        execute_rows(connection, statement, rows)
    _execute_run(connection, run)


def _execute_run(connection: sa.Connection, run: Sequence[tuple[sa.Insert, Sequence[Mapping[str, Any]]]]) -> None:
    combined = _combined_insert(tuple((statement, tuple(rows[0])) for statement, rows in run)) if len(run) > 1 else None
    if combined is None:
        for statement, rows in run:
            execute_rows(connection, statement, rows)
        return
    parameters: dict[str, list[Any]] = {}
    for k, (_, rows) in enumerate(run):
        for i, name in enumerate(rows[0]):
            parameters[f"w{k}_{i}"] = [row[name] for row in rows]
    connection.execute(combined, parameters)


def execute_rows(connection: sa.Connection, statement: sa.Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run ``statement`` once per row (rows with the same keys), as cheaply as the backend allows."""
    if not rows:
        return
    columns = tuple(rows[0])
    same_keys = _same_keys(rows)
    dialect = connection.dialect
    if same_keys and isinstance(statement, sa.Insert):
        if dialect.name == "sqlite":
            plan = driver_insert(statement, columns, dialect)
            if plan is not None:
                connection.exec_driver_sql(plan.sql, plan.parameters(rows))
                return
        elif len(rows) > 1 and dialect.name == "postgresql":
            rewritten = _unnest_insert(statement, columns)
            if rewritten is not None:
                connection.execute(
                    rewritten, {f"unnest_{i}": [row[name] for row in rows] for i, name in enumerate(columns)}
                )
                return
    connection.execute(statement, [dict(row) for row in rows])
