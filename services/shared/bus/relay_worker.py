"""Runs an outbox relay in the background: wakes on commit, polls when idle, backs off when the broker is down."""

from __future__ import annotations

import logging
import threading
import time

from services.shared.bus.relay import OutboxRelay

log = logging.getLogger(__name__)


class RelayWorker:
    def __init__(
        self,
        relay: OutboxRelay,
        *,
        idle_seconds: float = 0.05,
        coalesce_seconds: float = 0.002,
        gather_seconds: float = 0.005,
        max_backoff: float = 5.0,
    ) -> None:
        self.coalesce_seconds = coalesce_seconds
        self.gather_seconds = gather_seconds
        self.relay = relay
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def wake(self) -> None:
        """Called after a commit that wrote events: publish them now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                moved = self.relay.relay_once()
                backoff = 0.0
            except Exception as exc:
                backoff = min(max(backoff * 2, 0.2), self.max_backoff)
                log.warning("outbox relay failed, retrying in %.1fs (%s)", backoff, exc.__class__.__name__)
                self._stopping.wait(backoff)
                continue
            if moved == 0:
                if self._wake.wait(self.idle_seconds) and not self._stopping.is_set():
                    # Woken by a commit: let the commits right behind it join the same batch.
                    time.sleep(self.coalesce_seconds)
                self._wake.clear()
            elif moved < self.relay.batch_size:
                # Busy but drained: gather what the next few milliseconds commit into one batch
                # (one lease, one publish burst, one delete) rather than chasing each commit.
                time.sleep(self.gather_seconds)
        self.relay.close()
