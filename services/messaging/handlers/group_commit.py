"""Group commit: submissions that arrive together are committed in one transaction, each answered after it.

Every submission still gets its 202 only once its own rows are committed; what is shared is the
transaction (one BEGIN, one audit-chain lookup, one COMMIT and, on SQLite, one turn of the single
write lock instead of N workers polling for it). Whoever holds the commit lock commits every
submission queued so far; the others wait on the lock and find theirs done. If the shared
transaction fails, each submission of the group is retried alone, so one bad submission (a
concurrent duplicate Idempotency-Key) fails alone.

Plain Python: ``threading`` locks and ``time.sleep`` are green under eventlet's monkey patching.
A commit on SQLite never yields, so the committer first yields once (``sleep(0)``): the submissions
whose sealing is ready run up to the queue, and the group forms.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.shared.db import UnitOfWork
from services.shared.errors import Unavailable

# writes a group's items (each with its trace) on the unit of work's connection, no commit; a result per item
Writer = Callable[[UnitOfWork, Sequence[tuple[Any, str | None]]], list[Any]]


def call_each(uow: UnitOfWork, group: Sequence[tuple[Any, str | None]]) -> list[Any]:
    """The default writer: each item is a function of the unit of work, run in its trace."""
    results = []
    for work, traceparent in group:
        uow.follow(traceparent)
        results.append(work(uow))
    return results


@dataclass
class _Job:
    item: Any
    new_uow: Callable[[], UnitOfWork]
    traceparent: str | None
    done: bool = False
    result: Any = None
    error: BaseException | None = field(default=None, repr=False)

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    def __init__(self, write: Writer = call_each, *, max_group: int = 128,
                 gather: Callable[[], None] = lambda: time.sleep(0)) -> None:
        self.write = write
        self.max_group = max_group
        self._gather = gather
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._queue: list[_Job] = []

    def commit(self, item: Any, *, new_uow: Callable[[], UnitOfWork], traceparent: str | None = None) -> Any:
        """Write ``item`` in a committed transaction (shared with concurrent calls); its result once committed."""
        job = _Job(item, new_uow, traceparent)
        with self._queue_lock:
            self._queue.append(job)
        while not job.done:
            with self._commit_lock:
                if job.done:
                    break
                self._gather()
                with self._queue_lock:
                    group, self._queue = self._queue[: self.max_group], self._queue[self.max_group:]
                self._run(group)
        return job.outcome()

    def _run(self, group: list[_Job]) -> None:
        try:
            if len(group) == 1:
                self._alone(group[0])
                return
            try:
                results = self._together(group)
            except Exception:  # noqa: BLE001 - retried one by one below, each then fails or succeeds alone
                for job in group:
                    self._alone(job)
                return
            for job, result in zip(group, results, strict=True):
                job.result, job.done = result, True
        except BaseException:  # the committer was killed (the service stops): nobody of the group waits forever
            for job in group:
                if not job.done:
                    job.error, job.done = Unavailable("The service stopped while committing; retry."), True
            raise

    def _together(self, group: list[_Job]) -> list[Any]:
        with group[0].new_uow() as uow:
            results = self.write(uow, [(job.item, job.traceparent) for job in group])
            uow.commit()
        return results

    def _alone(self, job: _Job) -> None:
        try:
            with job.new_uow() as uow:
                [job.result] = self.write(uow, [(job.item, job.traceparent)])
                uow.commit()
        except Exception as exc:  # noqa: BLE001 - handed to the submission's own worker, raised there
            job.error = exc
        job.done = True
