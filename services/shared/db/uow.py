"""Unit of work: one transaction holding a service's state changes, its outbox events and its processed-event marks."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.shared.bus.envelope import CloudEvent, encode_body, new_traceparent
from services.shared.bus.schemas import check_data
from services.shared.contracts.events import EventData, publishers_of
from services.shared.db.rows import Batch, execute_batches
from services.shared.errors import Invalid


def _insert_for(dialect: str):  # type: ignore[no-untyped-def]
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@lru_cache(maxsize=64)
def _claim_insert(processed: sa.Table, dialect: str) -> sa.Insert:
    """Built once per table and backend: building a statement costs more than running it."""
    insert: sa.Insert = _insert_for(dialect)(processed).on_conflict_do_nothing().returning(processed.c.event_id)
    return insert


@lru_cache(maxsize=64)
def _claim_many_insert(processed: sa.Table) -> sa.Insert:
    """PostgreSQL: a batch's claims as one short, constant statement whose ids travel as one array
    (``INSERT … SELECT :handler, unnest(:ids), :at ON CONFLICT DO NOTHING RETURNING event_id``)."""
    ids = sa.cast(sa.bindparam("event_ids", type_=postgresql.ARRAY(processed.c.event_id.type)),
                  postgresql.ARRAY(processed.c.event_id.type))
    rows = sa.select(
        sa.bindparam("handler", type_=processed.c.handler.type),
        sa.func.unnest(ids),
        sa.bindparam("processed_at", type_=processed.c.processed_at.type),
    )
    insert: sa.Insert = (
        postgresql.insert(processed)
        .from_select(["handler", "event_id", "processed_at"], rows)
        .on_conflict_do_nothing()
        .returning(processed.c.event_id)
    )
    return insert


@lru_cache(maxsize=64)
def _outbox_insert(outbox: sa.Table, dialect: str) -> sa.Insert:
    insert: sa.Insert = outbox.insert()
    return insert


class UnitOfWork:
    """Use as ``with uow:``; nothing is kept unless ``commit()`` is called inside the block."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        service: str,
        outbox: sa.Table,
        processed: sa.Table,
        on_commit: Callable[[], None] | None = None,
        traceparent: str | None = None,
    ) -> None:
        self.engine = engine
        self.service = service
        self._outbox = outbox
        self._processed = processed
        self._on_commit = on_commit
        self._traceparent = traceparent
        self._connection: sa.Connection | None = None
        self._transaction: sa.RootTransaction | None = None
        self.published: list[CloudEvent] = []
        self._unwritten: list[dict[str, Any]] = []
        self._later: list[tuple[sa.Executable, list[dict[str, Any]]]] = []
        self.committed = False

    @property
    def connection(self) -> sa.Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._connection

    def __enter__(self) -> UnitOfWork:
        self._connection = self.engine.connect()
        self._transaction = self._connection.begin()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = self._transaction = None
        if self.committed and self.published and self._on_commit is not None:
            self._on_commit()

    def publish(self, event: EventData) -> CloudEvent:
        """Record an event in the outbox; it leaves for the bus only if this transaction commits.

        ``event`` is a contract model (services.shared.contracts), validated when it was built; its data is
        checked here against the compiled JSON Schema too (formats), its subject is the model's.
        """
        if self.service not in publishers_of(type(event)):
            raise Invalid(f"Event {event.TYPE} is published by {', '.join(publishers_of(type(event)))} only, "
                          f"not by {self.service}.")
        data = event.to_data()
        check_data(type(event), data)
        envelope = CloudEvent(
            type=event.TYPE,
            source=f"urn:maillage:service:{self.service}",
            data=data,
            subject=event.subject(),
            traceparent=new_traceparent(self._traceparent),
        )
        self._unwritten.append(
            {
                "event_id": envelope.id,
                "event_type": envelope.type,
                "routing_key": envelope.type,
                "body": encode_body(envelope.to_dict()),
                "created_at": time.time(),
                "attempts": 0,
            }
        )
        self.published.append(envelope)
        return envelope

    def execute_later(self, statement: sa.Executable, row: dict[str, Any]) -> None:
        """Run ``statement`` with ``row`` at the next flush, grouped with its neighbours (executemany).

        For writes nothing in this transaction reads back before it commits, such as a
        handler's effect row per event: the rows of consecutive calls with the same statement
        go to the database together. They are written before the transaction commits and at
        the end of each savepoint, so a failure is still the failing event's alone. On
        PostgreSQL the rows of a plain ``INSERT`` (ON CONFLICT and RETURNING allowed) go as one
        array per column in one statement (``INSERT … SELECT unnest(…)``), and consecutive
        plain INSERTs without RETURNING (the outbox's among them) as one statement together;
        other statements as an executemany.
        """
        if self._later and self._later[-1][0] is statement:
            self._later[-1][1].append(row)
        else:
            self._later.append((statement, [row]))

    def flush(self) -> None:
        """Write the events published so far to the outbox (one statement for all of them),
        then what was left for later by ``execute_later``; on PostgreSQL the plain INSERTs among
        them go together as one statement (``execute_batches``)."""
        batches: list[Batch] = []
        if self._unwritten:
            rows, self._unwritten = self._unwritten, []
            batches.append((_outbox_insert(self._outbox, self.connection.dialect.name), rows))
        if self._later:
            batches += self._later
            self._later = []
        if batches:
            execute_batches(self.connection, batches)

    def claim(self, event_id: str, handler: str) -> bool:
        """Mark an incoming event as handled by ``handler``; False when it already was (a redelivery)."""
        row = self.connection.execute(
            self._claim_statement(), {"handler": handler, "event_id": event_id, "processed_at": time.time()}
        ).first()
        return row is not None

    def _claim_statement(self) -> sa.Insert:
        # RETURNING, not rowcount: some drivers report -1 for INSERT … ON CONFLICT DO NOTHING.
        return _claim_insert(self._processed, self.connection.dialect.name)

    def claim_many(self, event_ids: Iterable[str], handler: str) -> set[str]:
        """Mark several incoming events as handled by ``handler`` in one statement.

        Returns the ids that were not handled before (the others are redeliveries). Ids are
        claimed in sorted order, so two transactions claiming overlapping batches take the
        row locks in the same order and cannot deadlock each other.
        """
        ids = sorted(set(event_ids))
        if not ids:
            return set()
        now = time.time()
        if self.connection.dialect.name == "postgresql":
            # One constant statement, the ids as one array (in sorted order: unnest keeps it).
            params = {"handler": handler, "event_ids": ids, "processed_at": now}
            return set(self.connection.execute(_claim_many_insert(self._processed), params).scalars())
        rows = [{"handler": handler, "event_id": event_id, "processed_at": now} for event_id in ids]
        return set(self.connection.execute(self._claim_statement(), rows).scalars())

    def release_claims(self, event_ids: Iterable[str], handler: str) -> None:
        """Undo claims made in this transaction for events the handler did not handle after all."""
        ids = list(event_ids)
        if ids:
            self.connection.execute(
                self._processed.delete().where(
                    self._processed.c.handler == handler, self._processed.c.event_id.in_(ids)
                )
            )

    def follow(self, traceparent: str | None) -> None:
        """Events published from now on continue this trace (a batch handles several traces)."""
        self._traceparent = traceparent

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run a block that is undone alone if it raises, leaving the rest of the transaction intact."""
        self.flush()
        nested = self.connection.begin_nested()
        try:
            yield
            self.flush()
        except BaseException:
            self._unwritten.clear()
            self._later.clear()
            nested.rollback()
            raise
        nested.commit()

    def commit(self) -> None:
        if self._transaction is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        self.flush()
        self._transaction.commit()
        self.committed = True

    def rollback(self) -> None:
        self._unwritten.clear()
        self._later.clear()
        self.published.clear()
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()
