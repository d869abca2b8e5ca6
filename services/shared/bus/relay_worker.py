"""Runs an outbox relay in the background: wakes on commit, polls when idle, backs off when the broker is down."""

from __future__ import annotations

import logging
import threading
import time

from services.shared.bus.relay import OutboxRelay

log = logging.getLogger(__name__)

KEEP_ALIVE_TICK = 1.0  # seconds: an idle relay looks after its broker connection at least this often


class RelayWorker:
    def __init__(
        self,
        relay: OutboxRelay,
        *,
        idle_seconds: float = 0.05,
        coalesce_seconds: float = 0.002,
        gather_seconds: float = 0.01,
        max_backoff: float = 5.0,
        flush_seconds: float = 3.0,
    ) -> None:
        self.flush_seconds = flush_seconds
        self.coalesce_seconds = coalesce_seconds
        self.gather_seconds = gather_seconds
        self.relay = relay
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._finished = threading.Event()

    def wake(self) -> None:
        """Called after a commit that wrote events: publish them now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wait_finished(self, timeout: float) -> bool:
        """After stop(): wait for the last flush to end (the thread may be killed after this)."""
        return self._finished.wait(timeout)

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
                if self._idle() and not self._stopping.is_set():
                    # Woken by a commit: let the commits right behind it join the same batch.
                    time.sleep(self.coalesce_seconds)
                self._wake.clear()
            elif moved < self.relay.batch_size:
                # Busy but drained: gather what the next few milliseconds commit into one batch
                # (one lease, one publish burst, one delete) rather than chasing each commit.
                time.sleep(self.gather_seconds)
        try:
            self._flush()
        finally:
            self.relay.close()
            self._finished.set()

    def _idle(self) -> bool:
        """Wait for a commit's wake-up or the next poll; returns whether woken. Meanwhile, at least
        every ``KEEP_ALIVE_TICK``, the relay looks after its broker connection's heartbeats: the broker
        closes a connection silent for its heartbeat interval, and the next batch would find it reset."""
        deadline = time.monotonic() + self.idle_seconds
        while True:
            self.relay.keep_alive()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._wake.wait(min(remaining, KEEP_ALIVE_TICK)):
                return True

    def _flush(self) -> None:
        """On a graceful stop, publish what is committed and not leased by another relay, for a bounded
        time: it need not wait for the next start (or, for a batch whose publish failed, for its lease)."""
        deadline = time.monotonic() + self.flush_seconds
        try:
            while time.monotonic() < deadline and self.relay.relay_once() >= self.relay.batch_size:
                pass
        except Exception as exc:  # the broker or database is gone: the next start publishes them
            log.warning("outbox relay could not flush before stopping (%s)", exc.__class__.__name__)
