"""The relay's loop: what it does after a full batch, a partial one, an empty outbox and a failure."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.shared.bus import relay_worker
from services.shared.bus.relay_worker import RelayWorker


class ScriptedRelay:
    """Answers relay_once from a script (a count, or an exception to raise); stops the worker at its end."""

    batch_size = 10

    def __init__(self, script: list[int | Exception]) -> None:
        self.script: Iterator[int | Exception] = iter(script)
        self.worker: RelayWorker | None = None
        self.closed = False
        self.leases = 0
        self.kept_alive = 0

    def relay_once(self) -> int:
        self.leases += 1
        step = next(self.script, None)
        if step is None:
            assert self.worker is not None
            self.worker.stop()
            return 0
        if isinstance(step, Exception):
            raise step
        return step

    def keep_alive(self) -> None:
        self.kept_alive += 1

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(relay_worker.time, "sleep", slept.append)
    return slept


def run(script: list[int | Exception], **options: float) -> tuple[ScriptedRelay, RelayWorker]:
    relay = ScriptedRelay(script)
    worker = RelayWorker(relay, idle_seconds=0.0, **options)  # type: ignore[arg-type]
    relay.worker = worker
    worker.run()
    return relay, worker


def test_a_full_batch_is_followed_at_once_by_the_next(sleeps: list[float]) -> None:
    relay, _ = run([10, 10, 10])
    assert sleeps == []
    assert relay.closed


def test_a_partial_batch_gathers_the_next_commits_before_leasing_again(sleeps: list[float]) -> None:
    run([10, 3, 10, 1], gather_seconds=0.004)
    assert sleeps == [0.004, 0.004]


def test_a_commit_wakes_an_idle_relay_which_lets_the_commits_behind_it_join(sleeps: list[float]) -> None:
    relay = ScriptedRelay([0, 2])
    worker = RelayWorker(relay, idle_seconds=30.0, coalesce_seconds=0.001, gather_seconds=0.004)  # type: ignore[arg-type]
    relay.worker = worker
    worker.wake()
    worker.run()
    assert sleeps == [0.001, 0.004]


def test_an_idle_relay_looks_after_its_broker_connection_while_it_waits_for_the_next_poll(
        monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    monkeypatch.setattr(relay_worker, "KEEP_ALIVE_TICK", 0.001)
    relay = ScriptedRelay([0])
    worker = RelayWorker(relay, idle_seconds=3600.0)  # type: ignore[arg-type]
    relay.worker = worker
    ticks = 5

    def keep_alive() -> None:
        relay.kept_alive += 1
        if relay.kept_alive == ticks:
            worker.wake()  # a commit, at last

    leased_after: list[int] = []  # keep-alives done before each lease
    lease = relay.relay_once

    def relay_once() -> int:
        leased_after.append(relay.kept_alive)
        return lease()

    relay.keep_alive = keep_alive  # type: ignore[method-assign]
    relay.relay_once = relay_once  # type: ignore[method-assign]
    worker.run()
    # The first lease found nothing; the hour's wait was spent keeping the connection alive, without
    # polling the outbox, until the wake-up leased again (then the script ends: stop, last flush).
    assert leased_after[:2] == [0, ticks]


def test_a_failing_relay_backs_off_then_resumes(monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    waited: list[float] = []
    relay = ScriptedRelay([ConnectionError("broker down"), ConnectionError("still down"), 10])
    worker = RelayWorker(relay, max_backoff=0.3)  # type: ignore[arg-type]
    relay.worker = worker
    monkeypatch.setattr(worker._stopping, "wait", lambda seconds: waited.append(seconds))
    worker.run()
    assert waited == [0.2, 0.3]
    assert relay.closed


def test_a_graceful_stop_flushes_what_is_committed_then_closes(sleeps: list[float]) -> None:
    relay = ScriptedRelay([])
    calls: list[str] = []
    flushes = iter([10, 10, 4])
    relay.relay_once = lambda: calls.append("flush") or next(flushes)  # type: ignore[method-assign]
    worker = RelayWorker(relay)  # type: ignore[arg-type]
    worker.stop()
    worker.run()
    assert calls == ["flush"] * 3  # full batches go on; a partial one means nothing more is leasable
    assert relay.closed and worker.wait_finished(0)


def test_a_flush_that_fails_leaves_the_events_for_the_next_start(sleeps: list[float]) -> None:
    relay = ScriptedRelay([])
    relay.relay_once = lambda: (_ for _ in ()).throw(ConnectionError("broker gone"))  # type: ignore[method-assign]
    worker = RelayWorker(relay)  # type: ignore[arg-type]
    worker.stop()
    worker.run()
    assert relay.closed and worker.wait_finished(0)
