"""Process-wide readiness checks that /readyz runs; a check raises when its dependency is unusable.

Below the web edge (which serves /readyz) and the nameko extensions (which register their checks)."""
from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

import eventlet
from eventlet.event import Event
from eventlet.semaphore import Semaphore

# Names are process-wide, so services prefix theirs ("directory.database").
_checks: dict[str, Callable[[], None]] = {}

_REDACTIONS = (
    # user:password@ in URLs (amqp://guest:secret@host, postgresql://u:p@db)
    (re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)[^/@\s]+@"), r"\g<scheme>***@"),
    (re.compile(r"(?i)\b(?P<key>password|passwd|pwd|secret|token|api[_-]?key)(?P<sep>\s*[=:]\s*)[^\s&;,]+"),
     r"\g<key>\g<sep>***"),
    (re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+[\w.~+/=-]+"), r"\g<scheme> ***"),
)
MAX_REASON = 200
CACHE_SECONDS = 1.0  # /readyz answers from the last run for this long: a flood of probes runs the checks once a second


class _TimedOut(Exception):
    pass


class _Runs:
    """The last results and the run in flight, shared by every caller of ``run_checks``."""

    def __init__(self) -> None:
        self.results: dict[str, str | None] | None = None
        self.at = 0.0
        self.running: Event | None = None

    def forget(self) -> None:
        self.results = None


_runs = _Runs()


def register_check(name: str, check: Callable[[], None]) -> None:
    """Add (or replace) a check; it must return quickly and raise when not ready."""
    replaced = _checks.get(name)
    _checks[name] = check
    _runs.forget()
    if replaced is not None and replaced is not check:
        _close(replaced)


def unregister_check(name: str) -> None:
    _close(_checks.pop(name, None))
    _runs.forget()


def _close(check: Any) -> None:
    close = getattr(check, "close", None)  # a check holding a connection lets it go
    if close is not None:
        close()


def run_checks(timeout: float = 2.0) -> dict[str, str | None]:
    """Every check's result: name -> None when it passed, else a short, credential-free reason.

    The results of the last run are reused for CACHE_SECONDS, and callers arriving during a run
    wait for it rather than start another: however many probes come, the checks (and the broker
    and databases they touch) run at most once at a time and about once a second.
    """
    if _runs.results is not None and time.monotonic() - _runs.at < CACHE_SECONDS:
        return dict(_runs.results)
    if _runs.running is not None:
        return dict(_runs.running.wait())
    running = _runs.running = Event()
    results: dict[str, str | None] = {}
    try:
        results = _run_all(timeout)
        _runs.results, _runs.at = results, time.monotonic()
    finally:
        _runs.running = None
        running.send(results)
    return dict(results)


def _run_all(timeout: float) -> dict[str, str | None]:
    """Run every check concurrently."""
    names = sorted(_checks)
    # concurrent, so a slow dependency costs one timeout, not one per check, under a probe's deadline
    pool = eventlet.GreenPool(max(len(names), 1))
    reasons = pool.imap(lambda name: _run(_checks.get(name), timeout), names)
    return dict(zip(names, reasons, strict=True))


def _run(check: Callable[[], None] | None, timeout: float) -> str | None:
    if check is None:  # unregistered while we were running
        return None
    try:
        with eventlet.Timeout(timeout, _TimedOut):
            check()
    except _TimedOut:
        return f"no answer within {timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - a failing check is a result here, not an error
        return safe_reason(exc)
    return None


def safe_reason(exc: BaseException) -> str:
    """A one-line reason without credentials, fit for an unauthenticated probe response."""
    text = " ".join(str(exc).split()) or "failed"
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    reason = f"{type(exc).__name__}: {text}"
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


class BrokerCheck:
    """Checks the broker over one connection it holds: a passive declare of ``amq.direct``, one round trip.

    Opening a connection per probe cost the broker a connection (and a login) each time. The held
    connection has no heartbeat (nothing to look after between probes); a connection found dead
    is replaced once within the same check, so a broker restart is not reported as a failure.
    """

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self._connection: Any = None
        self._channel: Any = None
        self._lock = Semaphore()

    def __call__(self) -> None:
        with self._lock:
            for attempt in (1, 2):
                fresh = self._connection is None
                try:
                    if fresh:
                        self._open()
                    self._channel.exchange_declare("amq.direct", "direct", passive=True)
                    return
                except _TimedOut:
                    self._drop()  # interrupted mid-frame: the connection cannot be trusted again
                    raise
                except Exception:
                    self._drop()
                    if fresh or attempt == 2:
                        raise

    def _open(self) -> None:
        from services.shared.bus.amqp import connect

        self._connection = connect(self.amqp_uri, heartbeat=0, name="maillage-readiness")
        self._channel = self._connection.channel()

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # it is gone either way
                connection.collect()  # the socket, without a closing handshake the broker may never answer

    def close(self) -> None:
        with self._lock:
            connection, self._connection, self._channel = self._connection, None, None
            if connection is not None:
                try:
                    with eventlet.Timeout(1.0):
                        connection.close()
                except (Exception, eventlet.Timeout):  # noqa: BLE001 - a dead or silent broker: drop the socket
                    with contextlib.suppress(Exception):
                        connection.collect()


def broker_check(amqp_uri: str) -> BrokerCheck:
    """A check of the broker over a connection held between probes."""
    return BrokerCheck(amqp_uri)
