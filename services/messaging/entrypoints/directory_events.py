"""Every messaging process hears the directory's certificate events, to evict its cached directory answers.

A work queue would hand each event to one process only; the cache lives in each process, so each
process consumes from a queue of its own (exclusive, deleted with its connection) bound to the
events exchange. Missing an event while disconnected leaves an entry at most its TTL
(``MAILLAGE_MESSAGING_DIRECTORY_CACHE_SECONDS``).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from kombu import Exchange, Queue, binding
from nameko.extensions import register_entrypoint
from nameko.messaging import Consumer

from services.shared.bus.topology import EVENTS_EXCHANGE
from services.shared.contracts.directory_events import CERTIFICATE_PUBLISHED, CERTIFICATE_REVOKED

CERTIFICATE_EVENTS = (CERTIFICATE_PUBLISHED, CERTIFICATE_REVOKED)


class BroadcastEvents(Consumer):
    """Events of these types, each delivered to every process (not to one of them); acked once handled."""

    def __init__(self, event_types: tuple[str, ...], **kwargs: Any) -> None:
        self.event_types = event_types
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self) -> None:
        exchange = Exchange(EVENTS_EXCHANGE, type="topic", durable=True, no_declare=True)
        name = f"{self.container.service_name}.{self.method_name}.{uuid.uuid4().hex[:12]}"
        self.queue = Queue(name, bindings=[binding(exchange, routing_key=t) for t in self.event_types],
                           exclusive=True, auto_delete=True, durable=False)
        super().setup()


def broadcast_handler(*event_types: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate ``def on_x(self, body: dict)``: the CloudEvent as JSON, in every running process."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        register_entrypoint(method, BroadcastEvents(tuple(event_types)))
        return method

    return decorate
