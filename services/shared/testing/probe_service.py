"""A tiny service used by the bus tests: it publishes probe events through its outbox and counts what it handles.

Run as a process (``python -m services.shared.testing.probe_service``) so tests can SIGKILL it mid-flight.
"""

from __future__ import annotations

import warnings

# eventlet announces its maintenance mode on import; we know (docs/architecture.md).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()

import os
import signal
import time
from datetime import datetime
from functools import lru_cache
from typing import ClassVar

import sqlalchemy as sa
from nameko.rpc import rpc
from sqlalchemy.dialects import postgresql, sqlite

from services.shared.contracts.events import Envelope, EventData
from services.shared.db import UnitOfWork, bus_tables
from services.shared.nameko_ext.database import Database
from services.shared.nameko_ext.events import event_handler


class ProbeCounted(EventData):
    """probe.counted (tests only): one numbered probe, poisoned or not."""

    TYPE: ClassVar[str] = "probe.counted"
    PUBLISHER: ClassVar[str] = "probe"

    n: int
    poison: bool = False

    def subject(self) -> str:
        return f"probe/{self.n}"


metadata = sa.MetaData()
BUS = bus_tables(metadata)
handled = sa.Table(
    "handled",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("times", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("handled_at", sa.Float, nullable=False),
)
cures = sa.Table("cures", metadata, sa.Column("n", sa.Integer, primary_key=True))


class PoisonError(RuntimeError):
    pass


def count(event: Envelope[ProbeCounted], *, uow: UnitOfWork) -> None:
    """The handler under test: records each event; a poison event fails until it is cured."""
    n = event.data.n
    if event.data.poison:
        cured = uow.connection.scalar(sa.select(cures.c.n).where(cures.c.n == n))
        if cured is None:
            raise PoisonError(f"probe {n} is poisoned")
    created = datetime.fromisoformat(event.time).timestamp()
    row = {"event_id": event.id, "n": n, "times": 1, "created_at": created, "handled_at": time.time()}
    uow.execute_later(_record_statement(uow.connection.dialect.name), row)


@lru_cache(maxsize=4)
def _record_statement(dialect: str) -> sa.Insert:
    """Counts deliveries that reach the effect: exactly-once handling keeps ``times`` at 1."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(handled)
    statement: sa.Insert = insert.on_conflict_do_update(
        index_elements=["event_id"], set_={"times": handled.c.times + 1}
    )
    # On PostgreSQL, RETURNING makes SQLAlchemy send a batch's rows as multi-row INSERTs.
    return statement.returning(handled.c.event_id) if dialect == "postgresql" else statement


def emit(db_uow: UnitOfWork, start: int, count_: int, poison: bool = False) -> None:
    with db_uow as uow:
        for n in range(start, start + count_):
            uow.publish(ProbeCounted(n=n, poison=poison))
        uow.commit()


class ProbeService:
    name = "probe"
    db = Database(BUS, relay=os.environ.get("PROBE_RELAY", "1") == "1")

    @event_handler(ProbeCounted)
    def count(self, event: Envelope[ProbeCounted]) -> None:
        self.db.handle_once(event, count)

    @rpc
    def emit(self, start: int, count_: int, poison: bool = False) -> int:
        emit(self.db.uow(), start, count_, poison)
        return count_


def main() -> None:
    from nameko.runners import ServiceRunner

    from services.shared.nameko_ext.config import container_config
    from services.shared.settings import read_settings

    settings = read_settings()
    engine = sa.create_engine(settings.database_url_for("probe"))
    metadata.create_all(engine)
    engine.dispose()
    runner = ServiceRunner(container_config(settings))
    runner.add_service(ProbeService)
    runner.start()
    stopping = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.send(None) if not stopping.ready() else None)
    print("probe ready", flush=True)
    stopping.wait()
    runner.stop()


if __name__ == "__main__":
    main()
