"""Several tables' rows written in one go (services/shared/db/rows.py ``execute_batches``), on every backend:
on PostgreSQL consecutive plain INSERTs are one statement; the rows, foreign keys and errors are as if each
table's rows had been written alone."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.shared.db import make_engine
from services.shared.db.rows import execute_batches

pytestmark = pytest.mark.integration

metadata = sa.MetaData()
parents = sa.Table(
    "parents", metadata,
    sa.Column("id", sa.String(8), primary_key=True),
    sa.Column("blob", sa.LargeBinary, nullable=True),
)
children = sa.Table(
    "children", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("parent", sa.String(8), sa.ForeignKey("parents.id"), nullable=False),
    sa.Column("name", sa.String(16), nullable=False),
    sa.UniqueConstraint("parent", "name"),
)
PARENT_INSERT, CHILD_INSERT = parents.insert(), children.insert()


@pytest.fixture
def engine(make_database) -> Iterator[sa.Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(make_database("batches"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def statements_of(engine: sa.Engine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement))
    return seen


def ignoring_duplicates(engine: sa.Engine) -> sa.Insert:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    statement: sa.Insert = insert(children).on_conflict_do_nothing()
    return statement


def content(engine: sa.Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as conn:
        kids = sa.select(children.c.parent, children.c.name).order_by(children.c.seq)
        return ([tuple(r) for r in conn.execute(sa.select(parents).order_by(parents.c.id))],
                [tuple(r) for r in conn.execute(kids)])


def test_the_rows_of_every_batch_are_written_in_order_children_beside_their_parents(engine: sa.Engine) -> None:
    statements = statements_of(engine)
    with engine.begin() as conn:
        execute_batches(conn, [
            (PARENT_INSERT, [{"id": "p1", "blob": b"\x00\x01"}, {"id": "p2", "blob": None}]),
            (CHILD_INSERT, [{"parent": "p1", "name": "a"}, {"parent": "p2", "name": "b"}]),
            (CHILD_INSERT, []),  # nothing to write: left out
            (ignoring_duplicates(engine), [{"parent": "p1", "name": "a"}, {"parent": "p1", "name": "c"}]),
        ])
    sent = len(statements)

    assert content(engine) == ([("p1", b"\x00\x01"), ("p2", None)], [("p1", "a"), ("p2", "b"), ("p1", "c")])
    # PostgreSQL: one round trip for both tables (the foreign keys checked at its end), a second one for
    # the children's next batch, whose ON CONFLICT must see the first one's rows
    assert sent == (2 if engine.dialect.name == "postgresql" else 3)


def test_a_statement_that_cannot_join_splits_the_run_and_keeps_its_place(engine: sa.Engine) -> None:
    rename = children.update().where(children.c.name == sa.bindparam("old")).values(name=sa.bindparam("new"))
    statements = statements_of(engine)
    with engine.begin() as conn:
        execute_batches(conn, [
            (PARENT_INSERT, [{"id": "p1", "blob": None}]),
            (CHILD_INSERT, [{"parent": "p1", "name": "a"}]),
            (rename, [{"old": "a", "new": "z"}]),  # reads what came before it
            (CHILD_INSERT, [{"parent": "p1", "name": "a"}]),
        ])
    sent = len(statements)

    assert content(engine)[1] == [("p1", "z"), ("p1", "a")]
    assert sent == (3 if engine.dialect.name == "postgresql" else 4)


def test_a_violation_in_any_table_is_sqlalchemys_integrity_error_and_nothing_of_the_statement_stays(
        engine: sa.Engine) -> None:
    with engine.begin() as conn:
        execute_batches(conn, [(PARENT_INSERT, [{"id": "p1", "blob": None}])])
    for batches in (
        [(PARENT_INSERT, [{"id": "p2", "blob": None}]), (CHILD_INSERT, [{"parent": "p1", "name": "a"}] * 2)],
        [(PARENT_INSERT, [{"id": "p3", "blob": None}]), (CHILD_INSERT, [{"parent": "nobody", "name": "a"}])],
    ):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            execute_batches(conn, batches)

    assert content(engine) == ([("p1", None)], [])
