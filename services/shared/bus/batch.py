"""A batch of delivered events handled in one worker and, for once-only handlers, one transaction.

Committing once per batch rather than once per event is what lets a consumer keep up with the
broker. When an event fails, the batch is replayed with each event in its own savepoint, so the
failing event is rolled back, retried or dead-lettered alone, while the others commit.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.shared.bus.envelope import CloudEvent
from services.shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)


class EventBatch:
    def __init__(self, events: list[CloudEvent]) -> None:
        self.events = events
        self.failures: dict[int, BaseException] = {}
        self.careful = False
        self._uow: UnitOfWork | None = None

    def __len__(self) -> int:
        return len(self.events)

    def shared_uow(self, open_uow: Callable[[], UnitOfWork]) -> UnitOfWork:
        """The batch's transaction, opened by the first once-only handler that needs it."""
        if self._uow is None:
            self._uow = open_uow().__enter__()
        return self._uow

    def run(self, handle: Callable[[CloudEvent], Any]) -> None:
        """Handle every event, record which failed, then commit the shared transaction.

        The first pass is optimistic: no savepoints. If an event fails, the pass is rolled back
        and the batch runs again carefully, each event in a savepoint (failures are rare).
        """
        try:
            if not self._run_pass(handle, stop_at_failure=True):
                self._discard_transaction()
                self.careful = True
                self._run_pass(handle, stop_at_failure=False)
            if self._uow is not None:
                self._uow.commit()
        finally:
            self._discard_transaction()

    def _run_pass(self, handle: Callable[[CloudEvent], Any], *, stop_at_failure: bool) -> bool:
        from services.shared.logging import bind_context

        self.failures.clear()
        for index, event in enumerate(self.events):
            with bind_context(event_id=event.id, trace_id=event.trace_id):
                try:
                    handle(event)
                except Exception as exc:
                    log.warning("event handler failed (%s)", exc.__class__.__name__)
                    self.failures[index] = exc
                    if stop_at_failure:
                        return False
        return True

    def _discard_transaction(self) -> None:
        if self._uow is not None:
            uow, self._uow = self._uow, None
            uow.__exit__(None, None, None)
