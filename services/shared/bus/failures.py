"""What to do with a message whose handler failed: retry later with backoff, or dead-letter it with its error."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

ATTEMPT_HEADER = "x-maillage-attempt"
ERROR_TYPE_HEADER = "x-maillage-error-type"
ERROR_HEADER = "x-maillage-error"
FAILED_AT_HEADER = "x-maillage-failed-at"
QUEUE_HEADER = "x-maillage-queue"


@dataclass(frozen=True)
class Retry:
    queue: str
    attempt: int


@dataclass(frozen=True)
class DeadLetter:
    attempts: int


def attempt_of(headers: dict[str, Any] | None) -> int:
    """The attempt this delivery is (1 for the first), counting our retries and the broker's redeliveries."""
    headers = headers or {}
    try:
        attempt = int(headers.get(ATTEMPT_HEADER, 1))
    except (TypeError, ValueError):
        attempt = 1
    return max(attempt, 1)


def decide(
    attempt: int, *, max_attempts: int, retry_queues: list[str], permanent: bool = False
) -> Retry | DeadLetter:
    """Retry through the delay queue for this attempt, or give up after ``max_attempts``."""
    if permanent or attempt >= max_attempts or not retry_queues:
        return DeadLetter(attempts=attempt)
    level = min(attempt, len(retry_queues)) - 1
    return Retry(queue=retry_queues[level], attempt=attempt + 1)


def failure_headers(queue: str, error: BaseException, attempts: int, *, describe: Any = None) -> dict[str, Any]:
    """Headers recording why a message was dead-lettered: the type and a redacted description, never the body."""
    text = describe(error) if describe is not None else error.__class__.__name__
    return {
        ATTEMPT_HEADER: attempts,
        ERROR_TYPE_HEADER: f"{type(error).__module__}.{type(error).__qualname__}",
        ERROR_HEADER: str(text)[:500],
        FAILED_AT_HEADER: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        QUEUE_HEADER: queue,
    }
