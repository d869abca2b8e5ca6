"""Binds the service name, trace id and event id to every log line a worker writes."""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from services.shared.bus.envelope import new_traceparent, trace_id_of
from services.shared.logging import BoundContext, bind_context


class LogContext(DependencyProvider):
    """Declare on a service as ``log_context = LogContext()``; the worker's logs then carry its ids."""

    def __init__(self) -> None:
        self._bound: dict[int, BoundContext] = {}

    def worker_setup(self, worker_ctx: Any) -> None:
        # A request without a traceparent starts a trace, so the worker's events can carry it on.
        traceparent = worker_ctx.data.setdefault("traceparent", new_traceparent())
        self._bound[id(worker_ctx)] = bind_context(
            service=self.container.service_name,
            trace_id=trace_id_of(traceparent),
            event_id=worker_ctx.data.get("event_id"),
        )

    def worker_teardown(self, worker_ctx: Any) -> None:
        bound = self._bound.pop(id(worker_ctx), None)
        if bound is not None:
            bound.reset()

    def get_dependency(self, worker_ctx: Any) -> None:
        return None
