"""The ``Database`` dependency: a service's engine, units of work, idempotent event handling and its outbox relay."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import sqlalchemy as sa
from nameko.extensions import DependencyProvider

from services.shared.bus.relay import OutboxRelay
from services.shared.bus.relay_worker import RelayWorker
from services.shared.contracts.events import Envelope
from services.shared.db.batch import EventBatch
from services.shared.db.engine import make_engine
from services.shared.db.uow import UnitOfWork
from services.shared.nameko_ext.config import settings_of
from services.shared.readiness import broker_check, register_check, unregister_check


class ServiceDatabase:
    """What a worker sees: units of work and once-only event handling. No nameko inside."""

    def __init__(
        self,
        engine: sa.Engine,
        service: str,
        tables: tuple[sa.Table, sa.Table],
        on_commit: Callable[[], None],
        traceparent: str | None = None,
        batch: EventBatch | None = None,
    ) -> None:
        self.engine = engine
        self._batch = batch
        self.service = service
        self._outbox, self._processed = tables
        self._on_commit = on_commit
        self._traceparent = traceparent

    def uow(self) -> UnitOfWork:
        return UnitOfWork(
            self.engine,
            service=self.service,
            outbox=self._outbox,
            processed=self._processed,
            on_commit=self._on_commit,
            traceparent=self._traceparent,
        )

    def handle_once(
        self, event: Envelope[Any], handler: Callable[..., Any], *, name: str | None = None, **deps: Any
    ) -> bool:
        """Run ``handler(event, uow=..., **deps)`` once per event: a redelivered event is skipped.

        The processed-event marks are named ``name``, by default the consuming queue's
        (``<service>.<handler method>``). Inside a batch the handler runs in a savepoint of the batch's
        transaction, committed when the batch ends; otherwise in a transaction of its own, committed here.
        """
        handler_name = name or (self._batch.handler if self._batch is not None else None) \
            or f"{handler.__module__}.{handler.__qualname__}"
        if self._batch is not None:
            uow = self._batch.shared_uow(self.uow)
            uow.follow(event.traceparent)
            with uow.savepoint() if self._batch.careful else nullcontext():
                if not self._batch.claim(uow, event.id, handler_name):
                    return False
                handler(event, uow=uow, **deps)
            return True
        with UnitOfWork(
            self.engine,
            service=self.service,
            outbox=self._outbox,
            processed=self._processed,
            on_commit=self._on_commit,
            traceparent=event.traceparent,
        ) as uow:
            if not uow.claim(event.id, handler_name):
                return False
            handler(event, uow=uow, **deps)
            uow.commit()
        return True


class Database(DependencyProvider):
    """Declare on a service as ``db = Database(metadata_tables)``; the relay starts with the container."""

    def __init__(self, bus_tables: tuple[sa.Table, sa.Table], *, relay: bool = True) -> None:
        self.bus_tables = bus_tables
        self.run_relay = relay
        self.engine: sa.Engine | None = None
        self.worker: RelayWorker | None = None

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.settings = settings
        self.engine = make_engine(settings.database_url_for(self.container.service_name))
        register_check(f"{self.container.service_name}.database", self._ping)
        register_check("broker", broker_check(self.container.config["AMQP_URI"]))

    def _ping(self) -> None:
        assert self.engine is not None
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
            connection.execute(sa.text("SELECT 1"))

    def start(self) -> None:
        if self.run_relay and self.engine is not None:
            relay = OutboxRelay(
                self.engine,
                self.bus_tables[0],
                self.container.config["AMQP_URI"],
                batch_size=self.settings.relay_batch_size,
                lease_seconds=self.settings.relay_lease_seconds,
                heartbeat=self.settings.bus_heartbeat_seconds,
                name=f"{self.container.service_name}-relay",
            )
            self.worker = RelayWorker(relay, idle_seconds=self.settings.relay_idle_ms / 1000,
                                      gather_seconds=self.settings.relay_gather_ms / 1000)
            self.container.spawn_managed_thread(self.worker.run, identifier=f"{self.container.service_name}.relay")

    def stop(self) -> None:
        """The relay first publishes what is committed (bounded by its flush time)."""
        self._shut_down(wait_for_flush=True)

    def kill(self) -> None:
        """No waiting: leased events are published again after their lease (or by the next start)."""
        self._shut_down(wait_for_flush=False)

    def _shut_down(self, *, wait_for_flush: bool) -> None:
        unregister_check(f"{self.container.service_name}.database")
        if self.worker is not None:
            self.worker.stop()
            if wait_for_flush:
                self.worker.wait_finished(timeout=self.worker.flush_seconds + 1)
        if self.engine is not None:
            self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> ServiceDatabase:
        assert self.engine is not None
        wake = self.worker.wake if self.worker is not None else (lambda: None)
        batch = worker_ctx.args[0] if worker_ctx.args and isinstance(worker_ctx.args[0], EventBatch) else None
        return ServiceDatabase(
            self.engine, self.container.service_name, self.bus_tables, wake, worker_ctx.data.get("traceparent"), batch
        )
