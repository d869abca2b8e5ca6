"""Process-wide readiness checks that /readyz runs; a check raises when its dependency is unusable."""
from __future__ import annotations

import re
from collections.abc import Callable

import eventlet

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


class _TimedOut(Exception):
    pass


def register_check(name: str, check: Callable[[], None]) -> None:
    """Add (or replace) a check; it must return quickly and raise when not ready."""
    _checks[name] = check


def unregister_check(name: str) -> None:
    _checks.pop(name, None)


def run_checks(timeout: float = 2.0) -> dict[str, str | None]:
    """Run every check concurrently: name -> None when it passed, else a short, credential-free reason."""
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


def broker_check(amqp_uri: str) -> Callable[[], None]:
    """A check that opens (and closes) a connection to the broker."""
    def check() -> None:
        from services.shared.bus.amqp import connect

        connect(amqp_uri, name="maillage-readiness").close()

    return check
