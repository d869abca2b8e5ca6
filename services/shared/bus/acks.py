"""Which deliveries of a channel may be acknowledged together (``basic.ack`` with ``multiple``).

A ``multiple`` ack of tag T acknowledges every unacknowledged delivery of the channel up to T,
so it may only be sent when every earlier delivery is settled: committed, or already acked,
rejected or requeued one by one. Batches usually commit in the order they arrived, and then a
whole batch costs one ``basic.ack`` frame. A batch that commits while an earlier one is still
running is acked message by message, as before, so a slow handler never holds back the acks
(and the prefetch window) of the batches behind it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

_OUTSTANDING, _COMMITTED, _SETTLED = 0, 1, 2


@dataclass(frozen=True)
class Acks:
    """What to send: one ``multiple`` ack up to ``up_to`` (if any), then single acks."""

    up_to: int | None = None
    singles: list[int] = field(default_factory=list)


class AckWindow:
    """The deliveries of one channel in the order they arrived, and how far they are settled."""

    def __init__(self) -> None:
        self._order: deque[int] = deque()
        self._state: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._order)

    def received(self, tag: int) -> None:
        self._order.append(tag)
        self._state[tag] = _OUTSTANDING

    def settled(self, tag: int) -> None:
        """The delivery was acked, rejected or requeued on its own."""
        if tag in self._state:
            self._state[tag] = _SETTLED
            self._advance()

    def committed(self, tags: Iterable[int]) -> Acks:
        """The deliveries' work is committed: the acks to send now (each tag is acked exactly once)."""
        tags = list(tags)
        unknown = [tag for tag in tags if tag not in self._state]
        for tag in tags:
            if self._state.get(tag) == _OUTSTANDING:
                self._state[tag] = _COMMITTED
        up_to = self._advance()
        singles = [tag for tag in tags if self._state.get(tag) == _COMMITTED]
        for tag in singles:
            self._state[tag] = _SETTLED
        return Acks(up_to=up_to, singles=unknown + singles)

    def _advance(self) -> int | None:
        """Drop the settled prefix; the last committed tag in it is what a ``multiple`` ack covers."""
        up_to = None
        while self._order and self._state[self._order[0]] != _OUTSTANDING:
            tag = self._order.popleft()
            if self._state.pop(tag) == _COMMITTED:
                up_to = tag
        return up_to
