"""Helpers for tests that run services and watch them from outside: ports, child processes, polling, the bus."""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from services.shared.bus.amqp import connect
from services.shared.bus.topology import EVENTS_EXCHANGE, declare_exchanges


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def die_with_parent() -> None:
    """preexec_fn for test subprocesses: Linux kills them if the test run dies without its teardown."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until ``check`` returns something truthy; fail (not time) if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "the expected state was not reached"
        time.sleep(0.05)


class Observer:
    """A queue of our own bound to some event types, to see what crosses the bus."""

    def __init__(self, uri: str, *patterns: str) -> None:
        self.connection = connect(uri, name="test-observer")
        self.channel = self.connection.channel()
        declare_exchanges(self.channel)
        self.queue = self.channel.queue_declare("", exclusive=True).queue
        for pattern in patterns:
            self.channel.queue_bind(self.queue, EVENTS_EXCHANGE, pattern)
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        bodies = []
        while (message := self.channel.basic_get(self.queue, no_ack=True)) is not None:
            bodies.append(json.loads(message.body))
        self.seen.extend(bodies)
        return bodies

    def wait_for(self, *types: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every event seen so far, once each of ``types`` has been seen at least once."""
        eventually(lambda: self.drain() is not None and set(types) <= {e["type"] for e in self.seen}, timeout)
        return list(self.seen)

    def close(self) -> None:
        self.connection.close()
