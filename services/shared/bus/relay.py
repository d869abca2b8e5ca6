"""Outbox relay: leases committed events, publishes them with pipelined confirms, deletes what the broker confirmed."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import amqp
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.shared.bus.amqp import DEFAULT_HEARTBEAT, connect, corked, keep_alive
from services.shared.bus.envelope import CONTENT_TYPE
from services.shared.bus.topology import EVENTS_EXCHANGE, declare_exchanges

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingEvent:
    seq: int
    event_id: str
    event_type: str
    routing_key: str
    body: bytes


class OutboxRelay:
    """Moves events from one service's outbox to the bus; several relays may share an outbox."""

    def __init__(
        self,
        engine: sa.Engine,
        outbox: sa.Table,
        amqp_uri: str,
        *,
        batch_size: int = 500,
        lease_seconds: float = 30.0,
        confirm_timeout: float = 30.0,
        heartbeat: int = DEFAULT_HEARTBEAT,
        name: str = "relay",
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.confirm_timeout = confirm_timeout
        self.heartbeat = heartbeat
        self.owner = f"{name}-{uuid.uuid4().hex[:12]}"
        self._connection: amqp.Connection | None = None
        self._channel: amqp.Channel | None = None
        self._db: sa.Connection | None = None
        self._confirmed: list[int] = []  # published and confirmed; deleted together with the next lease

    def relay_once(self) -> int:
        """Publish one leased batch; returns how many events the broker confirmed.

        The confirmed events are deleted in the same transaction as the next lease (on SQLite one
        write transaction per batch instead of two), or by ``close``. Until then they stay leased
        by this relay: if it dies first, they are published again when the lease expires.
        """
        batch = self._lease()
        if not batch:
            return 0
        try:
            confirmed = self._publish(batch)
        except Exception:
            self._close_broker()  # a broken channel is rebuilt on the next call
            self._release([event.seq for event in batch])
            raise
        self._confirmed = sorted(confirmed)
        failed = [event.seq for event in batch if event.seq not in confirmed]
        if failed:
            self._release(failed)
        return len(confirmed)

    def drain(self, *, timeout: float = 60.0) -> int:
        """Relay until the outbox is empty (tests, shutdown, benchmarks)."""
        total, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            moved = self.relay_once()
            total += moved
            if moved == 0 and self.pending() == 0:
                return total
        return total

    def pending(self) -> int:
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(self.outbox)) or 0)

    def keep_alive(self) -> None:
        """While idle: answer the broker's heartbeats and send ours, so the connection is there for the
        next batch (the broker closes a silent one after its heartbeat interval). A connection found
        dead is dropped here, quietly, and the next batch opens another."""
        connection = self._connection
        if connection is None:
            return
        try:
            keep_alive(connection)
        except Exception as exc:
            log.info("outbox relay's idle broker connection is gone (%s); the next batch opens another",
                     exc.__class__.__name__)
            self._close_broker()

    def close(self) -> None:
        try:
            self._delete_confirmed()
        except Exception as exc:  # the database is gone: they are published again after their lease
            log.warning("outbox relay could not delete its last confirmed events (%s)", exc.__class__.__name__)
        self._close_database()
        self._close_broker()

    def _close_broker(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken: nothing left to close cleanly
                connection.collect()

    # -- database side --------------------------------------------------------------------------

    def _lease(self) -> list[PendingEvent]:
        """Lease up to ``batch_size`` events nobody holds (or whose lease expired) and read them,
        in one statement: ``UPDATE … WHERE seq IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …``.

        On PostgreSQL that single statement, with the previous batch's delete as its CTE, is its own
        transaction (autocommit): one round trip.
        The lease is committed before anything is published, so a relay that dies leaves leased
        rows that another relay takes over when the lease expires; nothing is lost.
        """
        now = time.time()
        until = now + self.lease_seconds
        params = {"now": now, "owner": self.owner, "until": until}
        if self._postgresql:
            with self._autocommit() as conn:
                if self._confirmed:  # the delete and the lease in one statement: one round trip
                    statement = _delete_and_lease_statement(self.outbox, self.batch_size)
                    rows = conn.execute(statement, {**params, "seqs": list(self._confirmed)}).all()
                else:
                    rows = conn.execute(_lease_statement(self.outbox, self.batch_size, True), params).all()
                self._confirmed = []
        else:
            with self.engine.begin() as conn:
                self._delete(conn, self._confirmed)
                rows = conn.execute(_lease_statement(self.outbox, self.batch_size, False), params).all()
            self._confirmed = []
        return sorted((PendingEvent(*row) for row in rows), key=lambda event: event.seq)

    def _delete_confirmed(self) -> None:
        if not self._confirmed:
            return
        if self._postgresql:
            with self._autocommit() as conn:
                self._delete(conn, self._confirmed)
        else:
            with self.engine.begin() as conn:
                self._delete(conn, self._confirmed)
        self._confirmed = []

    def _delete(self, conn: sa.Connection, seqs: Sequence[int]) -> None:
        """Delete confirmed events (still leased by this relay) in one statement."""
        if not seqs:
            return
        if self._postgresql:
            conn.execute(_delete_statement(self.outbox, True), {"seqs": list(seqs), "owner": self.owner})
            return
        conn.execute(_delete_statement(self.outbox, False), {"seqs": json.dumps(seqs), "owner": self.owner})

    def _release(self, seqs: Sequence[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                self.outbox.update().where(self.outbox.c.seq.in_(seqs)).values(lease_owner=None, lease_until=None)
            )

    @property
    def _postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def _autocommit(self) -> Iterator[sa.Connection]:
        """PostgreSQL: the relay's own connection, kept between batches (no pool checkout and ping
        per statement), in autocommit (a single statement is atomic on its own: no BEGIN and
        COMMIT round trips around it) and without waiting for the WAL flush at commit.

        Not waiting for the flush is safe here: if the server crashes and forgets a lease, the
        events are published again; if it forgets a delete, the confirmed events come back and
        are published again. Duplicates, never a loss (consumers are idempotent); and the
        producers' commits, which do wait, flush the relay's earlier ones with theirs.
        """
        conn = self._db
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                conn.exec_driver_sql("SET SESSION synchronous_commit = off")
            except BaseException:
                conn.invalidate()
                conn.close()
                raise
            self._db = conn
        try:
            yield conn
        except BaseException:
            self._close_database()
            raise

    def _close_database(self) -> None:
        conn, self._db = self._db, None
        if conn is not None:
            # Never back to the pool with the session setting: other users must wait for the flush.
            try:
                conn.invalidate()
            finally:
                conn.close()

    # -- broker side -----------------------------------------------------------------------------

    def _ensure_channel(self) -> amqp.Channel:
        if self._channel is None or self._connection is None or not self._connection.connected:
            self._connection = connect(self.amqp_uri, heartbeat=self.heartbeat, name=self.owner)
            channel = self._connection.channel()
            declare_exchanges(channel)
            channel.confirm_select()
            self._channel = channel
        return self._channel

    def _publish(self, batch: Sequence[PendingEvent]) -> set[int]:
        """Publish the whole batch, then wait for the broker's confirms (pipelined, not one by one)."""
        channel = self._ensure_channel()
        tags: dict[int, int] = {}
        acked: set[int] = set()
        nacked: set[int] = set()
        first_tag = _next_delivery_tag(channel)

        def settle(into: set[int]) -> Callable[[int, bool], None]:
            def callback(tag: int, multiple: bool) -> None:
                into.update(t for t in tags if t <= tag) if multiple else into.add(tag)

            return callback

        on_ack, on_nack = settle(acked), settle(nacked)
        channel.events["basic_ack"].add(on_ack)
        channel.events["basic_nack"].add(on_nack)
        try:
            with corked(self._connection):
                self._publish_all(channel, batch, tags, first_tag)
            deadline = time.monotonic() + self.confirm_timeout
            while len(acked | nacked) < len(tags):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the broker did not confirm the published events in time")
                self._connection.drain_events(timeout=remaining)  # type: ignore[union-attr]
        finally:
            channel.events["basic_ack"].discard(on_ack)
            channel.events["basic_nack"].discard(on_nack)
        _advance_delivery_tag(channel, len(batch))
        if nacked:
            log.warning("broker refused %d events; they stay in the outbox", len(nacked - acked))
        return {tags[tag] for tag in acked - nacked}

    @staticmethod
    def _publish_all(
        channel: amqp.Channel, batch: Sequence[PendingEvent], tags: dict[int, int], first_tag: int
    ) -> None:
        for offset, event in enumerate(batch):
            message = amqp.Message(
                event.body,
                content_type=CONTENT_TYPE,
                delivery_mode=2,
                message_id=event.event_id,
                type=event.event_type,
                timestamp=int(time.time()),
            )
            channel.basic_publish(message, exchange=EVENTS_EXCHANGE, routing_key=event.routing_key)
            tags[first_tag + offset] = event.seq


@lru_cache(maxsize=32)
def _lease_statement(outbox: sa.Table, batch_size: int, postgresql: bool) -> sa.Update:
    """Built once: the lease is the same statement every time, its values bound (and prepared)."""
    t = outbox
    candidates = (
        sa.select(t.c.seq)
        .where(sa.or_(t.c.lease_until.is_(None), t.c.lease_until < sa.bindparam("now")))
        .order_by(t.c.seq)
        .limit(batch_size)
    )
    if postgresql:
        candidates = candidates.with_for_update(skip_locked=True)
    statement: sa.Update = (
        t.update()
        .where(t.c.seq.in_(candidates.scalar_subquery()))
        .values(lease_owner=sa.bindparam("owner"), lease_until=sa.bindparam("until"), attempts=t.c.attempts + 1)
        .returning(t.c.seq, t.c.event_id, t.c.event_type, t.c.routing_key, t.c.body)
    )
    return statement


@lru_cache(maxsize=32)
def _delete_and_lease_statement(outbox: sa.Table, batch_size: int) -> sa.Update:
    """PostgreSQL: the confirmed events' delete (a data-modifying CTE) and the next lease, one atomic
    statement. The lease leaves the confirmed seqs alone (``seq <> ALL(:seqs)``): one statement must not
    both delete and lease a row, which it would if their lease had expired meanwhile."""
    t = outbox
    seqs = sa.cast(sa.bindparam("seqs", type_=ARRAY(sa.BigInteger())), ARRAY(sa.BigInteger()))
    candidates = (
        sa.select(t.c.seq)
        .where(sa.or_(t.c.lease_until.is_(None), t.c.lease_until < sa.bindparam("now")), t.c.seq != sa.all_(seqs))
        .order_by(t.c.seq)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    statement: sa.Update = (
        t.update()
        .where(t.c.seq.in_(candidates.scalar_subquery()))
        .values(lease_owner=sa.bindparam("owner"), lease_until=sa.bindparam("until"), attempts=t.c.attempts + 1)
        .returning(t.c.seq, t.c.event_id, t.c.event_type, t.c.routing_key, t.c.body)
        .add_cte(_delete_statement(outbox, True).cte("confirmed"))
    )
    return statement


@lru_cache(maxsize=32)
def _delete_statement(outbox: sa.Table, postgresql: bool) -> sa.Delete:
    """The confirmed seqs as one parameter, so the statement is constant (compiled once, not per batch
    size): an array on PostgreSQL (``seq = ANY(:seqs)``), a JSON list on SQLite
    (``seq IN (SELECT value FROM json_each(:seqs))``)."""
    if postgresql:
        seqs = sa.cast(sa.bindparam("seqs", type_=ARRAY(sa.BigInteger())), ARRAY(sa.BigInteger()))
        condition = outbox.c.seq == sa.any_(seqs)
    else:
        listed = sa.func.json_each(sa.bindparam("seqs", type_=sa.String())).table_valued("value")
        condition = outbox.c.seq.in_(sa.select(listed.c.value))
    statement: sa.Delete = outbox.delete().where(condition, outbox.c.lease_owner == sa.bindparam("owner"))
    return statement


def _next_delivery_tag(channel: amqp.Channel) -> int:
    return int(getattr(channel, "_maillage_next_tag", 1))


def _advance_delivery_tag(channel: amqp.Channel, count: int) -> None:
    # Confirm-mode delivery tags count every publish on the channel from 1.
    channel._maillage_next_tag = _next_delivery_tag(channel) + count
