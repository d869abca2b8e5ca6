"""Dead letters an operator can list, inspect (metadata only), replay and purge."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import amqp

from services.shared.bus.amqp import connect
from services.shared.bus.failures import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    ERROR_TYPE_HEADER,
    FAILED_AT_HEADER,
    QUEUE_HEADER,
)

log = logging.getLogger(__name__)
# How long listing waits for the dead letters it looked at to be back in their queue.
REQUEUE_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class DeadLetterInfo:
    message_id: str
    queue: str
    event_type: str
    source: str
    time: str
    attempts: int
    error_type: str
    error: str
    failed_at: str
    size: int
    traceparent: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _describe(work_queue: str, message: amqp.Message) -> DeadLetterInfo:
    headers = dict(message.properties.get("application_headers") or {})
    try:
        envelope = json.loads(message.body)
    except (ValueError, TypeError):
        envelope = {}
    if not isinstance(envelope, dict):
        envelope = {}
    deaths = headers.get("x-death") or []
    broker_reason = deaths[0].get("reason") if deaths else None
    return DeadLetterInfo(
        message_id=str(message.properties.get("message_id") or envelope.get("id") or ""),
        queue=str(headers.get(QUEUE_HEADER) or work_queue),
        event_type=str(envelope.get("type") or message.properties.get("type") or "?"),
        source=str(envelope.get("source") or ""),
        time=str(envelope.get("time") or ""),
        attempts=int(headers.get(ATTEMPT_HEADER) or headers.get("x-delivery-count") or 1),
        error_type=str(headers.get(ERROR_TYPE_HEADER) or (f"broker:{broker_reason}" if broker_reason else "unknown")),
        error=str(headers.get(ERROR_HEADER) or ("delivery limit reached" if broker_reason else "")),
        failed_at=str(headers.get(FAILED_AT_HEADER) or ""),
        size=len(message.body or b""),
        traceparent=str(envelope.get("traceparent") or ""),
    )


class DeadLetterStore:
    """Reads dead-letter queues (``<queue>.dlq``) without losing anything: what is not replayed or purged goes back."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri

    def list(self, queues: Iterable[str]) -> list[DeadLetterInfo]:
        return [info for _, info, _ in self._browse(queues, settle=lambda *_: False)]

    def show(self, message_id: str, queues: Iterable[str]) -> DeadLetterInfo | None:
        found = [info for _, info, _ in self._browse(queues, settle=lambda *_: False) if info.message_id == message_id]
        return found[0] if found else None

    def replay(self, message_id: str | None, queues: Iterable[str] = ()) -> int:
        """Put dead letters back on their work queue with a fresh attempt count; all when ``message_id`` is None."""
        def settle(channel: amqp.Channel, info: DeadLetterInfo, message: amqp.Message) -> bool:
            if message_id is not None and info.message_id != message_id:
                return False
            headers = {k: v for k, v in (message.properties.get("application_headers") or {}).items()
                       if not k.startswith("x-maillage-") and k != "x-death"}
            headers["x-maillage-replayed-from"] = info.error_type
            copy = amqp.Message(
                message.body, content_type=message.properties.get("content_type"), delivery_mode=2,
                message_id=info.message_id, type=message.properties.get("type"), application_headers=headers,
            )
            channel.basic_publish_confirm(copy, exchange="", routing_key=info.queue, confirm_timeout=30)
            return True

        return sum(1 for _, _, settled in self._browse(queues, settle=settle) if settled)

    def purge(self, message_id: str | None, queues: Iterable[str] = ()) -> int:
        def settle(_channel: amqp.Channel, info: DeadLetterInfo, _message: amqp.Message) -> bool:
            return message_id is None or info.message_id == message_id

        return sum(1 for _, _, settled in self._browse(queues, settle=settle) if settled)

    def _browse(self, queues: Iterable[str], settle):  # type: ignore[no-untyped-def]
        """Fetch every dead letter once; ack those ``settle`` handled, return the others to their queue."""
        connection = connect(self.amqp_uri, name="maillage-dlq")
        results: list[tuple[str, DeadLetterInfo, bool]] = []
        try:
            channel = connection.channel()
            for work_queue in queues:
                dlq = f"{work_queue}.dlq"
                try:
                    _, depth, _ = channel.queue_declare(dlq, passive=True)
                except amqp.exceptions.NotFound:
                    channel = connection.channel()
                    continue
                held: list[int] = []
                for _ in range(depth):
                    message = channel.basic_get(dlq, no_ack=False)
                    if message is None:
                        break
                    info = _describe(work_queue, message)
                    settled = bool(settle(channel, info, message))
                    if settled:
                        channel.basic_ack(message.delivery_tag)
                    else:
                        held.append(message.delivery_tag)
                    results.append((work_queue, info, settled))
                if held:
                    # What is ready now arrived while we browsed (or was not reached).
                    _, ready, _ = channel.queue_declare(dlq, passive=True)
                    for tag in held:
                        channel.basic_reject(tag, requeue=True)
                    _wait_until_back(channel, dlq, ready + len(held))
        finally:
            connection.close()
        return results


def _wait_until_back(channel: amqp.Channel, queue: str, ready: int, timeout: float = REQUEUE_WAIT_SECONDS) -> None:
    """Return once ``queue`` shows ``ready`` messages again: the broker requeues rejected messages
    asynchronously (a quorum queue applies the returns through its log), so without waiting, the
    next command (``purge`` right after ``list``) could find the queue empty and do nothing."""
    deadline, delay = time.monotonic() + timeout, 0.005
    while True:
        _, depth, _ = channel.queue_declare(queue, passive=True)
        if depth >= ready:
            return
        if time.monotonic() >= deadline:
            log.warning("dead letters of %s not all back in the queue after %.0f s", queue, timeout)
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
