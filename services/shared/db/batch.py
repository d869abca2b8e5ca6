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
    def __init__(self, events: list[CloudEvent], handler: str | None = None) -> None:
        self.events = events
        self.handler = handler  # the consuming queue: names the processed-event marks of its handlers
        self.failures: dict[int, BaseException] = {}
        self.careful = False
        self._uow: UnitOfWork | None = None
        self._ids = {event.id for event in events}
        # handler name -> ids claimed in bulk for this pass and not yet handed to the handler
        self._claims: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.events)

    def shared_uow(self, open_uow: Callable[[], UnitOfWork]) -> UnitOfWork:
        """The batch's transaction, opened by the first once-only handler that needs it."""
        if self._uow is None:
            self._uow = open_uow().__enter__()
        return self._uow

    def claim(self, uow: UnitOfWork, event_id: str, handler: str) -> bool:
        """Claim the event ``event_id`` for ``handler`` in the batch's transaction; False for a redelivery.

        In the optimistic pass the first call for a handler claims every event of the batch in
        one statement; the claims its handler never uses are released before the commit. In the
        careful pass each event claims alone, inside its savepoint, so a failed event's claim is
        undone with the rest of its work.
        """
        if self.careful or event_id not in self._ids:
            return uow.claim(event_id, handler)
        claims = self._claims.get(handler)
        if claims is None:
            claims = self._claims[handler] = uow.claim_many(self._ids, handler)
        if event_id in claims:
            claims.remove(event_id)  # a second copy of the same event in this batch is skipped
            return True
        return False

    def run(self, handle: Callable[[CloudEvent], Any]) -> None:
        """Handle every event, record which failed, then commit the shared transaction.

        The first pass is optimistic: no savepoints. If an event fails, the pass is rolled back
        and the batch runs again carefully, each event in a savepoint (failures are rare).
        """
        try:
            if not self._run_pass(handle, stop_at_failure=True) or not self._settle_optimistic_pass():
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

    def _settle_optimistic_pass(self) -> bool:
        """Release unused bulk claims and write what is pending; False if that fails."""
        if self._uow is None:
            return True
        try:
            for handler, unused in self._claims.items():
                self._uow.release_claims(unused, handler)
            self._uow.flush()
        except Exception as exc:
            log.warning("batch could not be written (%s); handling its events one by one", exc.__class__.__name__)
            return False
        return True

    def _discard_transaction(self) -> None:
        self._claims.clear()
        if self._uow is not None:
            uow, self._uow = self._uow, None
            uow.__exit__(None, None, None)
