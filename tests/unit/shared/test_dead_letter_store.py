"""DeadLetterStore against a fake broker whose requeues land late, as a quorum queue's do."""
from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import amqp
import pytest

from services.shared.bus import dlq
from services.shared.bus.dlq import DeadLetterStore


class LateRequeueBroker:
    """One queue; a rejected message is ready again only after a few more commands on the broker."""

    def __init__(self, messages: list[amqp.Message], lag: int = 3) -> None:
        self.ready = list(messages)
        self.unacked: dict[int, amqp.Message] = {}
        self.returning: list[tuple[int, amqp.Message]] = []  # (commands left before it is back, message)
        self.lag = lag
        self.tag = 0

    def tick(self) -> None:
        still = []
        for left, message in self.returning:
            if left <= 1:
                self.ready.append(message)
            else:
                still.append((left - 1, message))
        self.returning = still

    # -- connection -------------------------------------------------------------------------------
    def channel(self) -> LateRequeueBroker:
        return self

    def close(self) -> None:  # closing does not hurry the requeues
        pass

    # -- channel ----------------------------------------------------------------------------------
    def queue_declare(self, queue: str, passive: bool = False) -> tuple[str, int, int]:
        self.tick()
        return queue, len(self.ready), 0

    def basic_get(self, queue: str, no_ack: bool = False) -> Any:
        self.tick()
        if not self.ready:
            return None
        message = self.ready.pop(0)
        self.tag += 1
        message.delivery_info = {"delivery_tag": self.tag}
        self.unacked[self.tag] = message
        return message

    def basic_ack(self, tag: int) -> None:
        self.unacked.pop(tag)

    def basic_reject(self, tag: int, requeue: bool) -> None:
        self.returning.append((self.lag, self.unacked.pop(tag)))


def letter(n: int) -> amqp.Message:
    return amqp.Message(b'{"type": "probe.counted"}', message_id=f"m{n}", application_headers={})


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> LateRequeueBroker:
    fake = LateRequeueBroker([letter(1), letter(2)])
    monkeypatch.setattr(dlq, "connect", lambda uri, name="": fake)
    # Waiting lets the broker work: each sleep is one more step of the requeues.
    clock = SimpleNamespace(monotonic=time.monotonic, sleep=lambda _seconds: fake.tick())
    monkeypatch.setattr(dlq, "time", clock, raising=False)
    return fake


def test_listing_leaves_the_queue_as_it_found_it(broker: LateRequeueBroker) -> None:
    store = DeadLetterStore("amqp://fake")
    assert [info.message_id for info in store.list(["probe.count"])] == ["m1", "m2"]
    assert len(broker.ready) == 2 and not broker.returning and not broker.unacked


def test_purge_right_after_list_purges_what_was_listed(broker: LateRequeueBroker) -> None:
    store = DeadLetterStore("amqp://fake")
    assert len(store.list(["probe.count"])) == 2
    assert store.purge("m1", ["probe.count"]) == 1
    assert store.purge(None, ["probe.count"]) == 1
    assert broker.ready == [] and not broker.returning
