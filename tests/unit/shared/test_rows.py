"""Many rows in one go (services/shared/db/rows.py): what is compiled once, and what goes to the driver."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import psycopg

from services.shared.bus.envelope import CloudEvent, encode_body
from services.shared.db import make_engine
from services.shared.db.rows import BinaryArray, _unnest_insert, driver_insert, execute_rows

metadata = sa.MetaData()
things = sa.Table(
    "things", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(32), nullable=False, unique=True),
    sa.Column("flag", sa.Boolean, nullable=False),
    sa.Column("at", sa.Float, nullable=True),
    sa.Column("blob", sa.LargeBinary, nullable=True),
)
defaulted = sa.Table(
    "defaulted", metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(8), default="plain"),
)
INSERT = things.insert()
ROWS = [{"name": "a", "flag": True, "at": 1, "blob": b"\x00\"\\"},
        {"name": "b", "flag": False, "at": None, "blob": None}]


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def stored(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(things.c.name, things.c.flag, things.c.at, things.c.blob)
                                                   .order_by(things.c.seq))]


def test_a_plain_insert_is_compiled_once_for_the_driver_with_its_type_processing() -> None:
    dialect = sqlite.dialect()
    plan = driver_insert(INSERT, ("name", "flag", "at", "blob"), dialect)

    assert plan is not None and plan is driver_insert(INSERT, ("name", "flag", "at", "blob"), dialect)
    assert plan.sql == "INSERT INTO things (name, flag, at, blob) VALUES (?, ?, ?, ?)"
    assert plan.parameters(ROWS) == [("a", 1, 1.0, b"\x00\"\\"), ("b", 0, None, None)]
    single = driver_insert(INSERT, ("name", "flag"), dialect)
    assert single is not None and single.parameters([{"flag": True, "name": "c"}]) == [("c", 1)]
    name_only = driver_insert(sqlite.insert(defaulted).on_conflict_do_nothing(), ("name", "kind"), dialect)
    assert name_only is not None and name_only.parameters([{"name": "x", "kind": "k"}]) == [("x", "k")]


@pytest.mark.parametrize("statement, columns", [
    (INSERT.returning(things.c.seq), ("name", "flag")),  # RETURNING: rows to read, not an executemany
    (INSERT.values(flag=True), ("name",)),  # values of its own
    (things.update(), ("name",)),  # not an INSERT
    (INSERT, ("name", "colour")),  # a key that is no column: SQLAlchemy says so
    (defaulted.insert(), ("name",)),  # a default SQLAlchemy computes per row
])
def test_anything_sqlalchemy_would_add_to_goes_the_ordinary_way(statement: sa.Executable,
                                                                columns: tuple[str, ...]) -> None:
    assert driver_insert(statement, columns, sqlite.dialect()) is None


def test_rows_reach_sqlite_as_sqlalchemy_would_write_them(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        execute_rows(conn, INSERT, ROWS)
        execute_rows(conn, INSERT, [])
        execute_rows(conn, INSERT, [{"name": "c", "flag": True}, {"flag": False, "name": "d"}])  # keys in any order
        flip = things.update().where(things.c.name == sa.bindparam("n")).values(flag=sa.bindparam("f"))
        execute_rows(conn, flip, [{"n": "a", "f": False}, {"n": "d", "f": True}])  # the ordinary way

    assert stored(engine) == [("a", False, 1.0, b"\x00\"\\"), ("b", False, None, None), ("c", True, None, None),
                              ("d", True, None, None)]


def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_on_conflict_is_kept(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        execute_rows(conn, INSERT, ROWS)
        execute_rows(conn, sqlite.insert(things).on_conflict_do_nothing(), [{"name": "a", "flag": False}])
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        execute_rows(conn, INSERT, [{"name": "z", "flag": True}, {"name": "a", "flag": True}])

    assert [name for name, *_ in stored(engine)] == ["a", "b"]


def test_postgresql_gets_one_binary_array_per_column_each_value_through_its_type() -> None:
    statement = _unnest_insert(INSERT, ("name", "flag", "blob"))
    assert statement is not None
    compiled = statement.compile(dialect=psycopg.dialect())  # type: ignore[no-untyped-call]
    processors: dict[str, Any] = dict(compiled._bind_processors)

    assert "unnest(CAST(%(unnest_2)s AS BYTEA[]))" in compiled.string
    array = processors["unnest_2"]([b"x", None])
    assert isinstance(array, BinaryArray) and array == [b"x", None]
    assert _unnest_insert(postgresql.insert(defaulted), ("name",)) is not None  # a scalar default goes in the SELECT


def test_an_envelope_is_encoded_as_compact_utf8_json() -> None:
    body = CloudEvent(type="probe.counted", source="urn:maillage:service:probe", data={"é": [1, "\"x\""]}).to_dict()

    assert encode_body(body) == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
