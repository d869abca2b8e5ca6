"""Deliveries are acked together only when every earlier delivery of the channel is settled."""
from __future__ import annotations

from services.shared.bus.acks import AckWindow


def window(*tags: int) -> AckWindow:
    acks = AckWindow()
    for tag in tags:
        acks.received(tag)
    return acks


def test_a_batch_committed_in_order_is_one_multiple_ack() -> None:
    acks = window(1, 2, 3, 4)
    first = acks.committed([1, 2])
    assert (first.up_to, first.singles) == (2, [])
    second = acks.committed([3, 4])
    assert (second.up_to, second.singles) == (4, [])
    assert len(acks) == 0


def test_a_batch_committed_before_an_earlier_one_is_acked_one_by_one() -> None:
    acks = window(1, 2, 3, 4)
    later = acks.committed([3, 4])
    assert (later.up_to, later.singles) == (None, [3, 4])
    earlier = acks.committed([1, 2])  # 3 and 4 were already acked: the multiple ack stops at 2
    assert (earlier.up_to, earlier.singles) == (2, [])
    assert len(acks) == 0


def test_a_requeued_or_rejected_delivery_is_not_covered_by_the_multiple_ack() -> None:
    acks = window(1, 2, 3)
    acks.settled(2)  # retried or dead-lettered on its own
    result = acks.committed([1])
    assert (result.up_to, result.singles) == (1, [])
    result = acks.committed([3])
    assert (result.up_to, result.singles) == (3, [])


def test_the_multiple_ack_never_ends_on_a_delivery_settled_alone() -> None:
    acks = window(1, 2, 3)
    acks.settled(3)
    result = acks.committed([1, 2])
    assert (result.up_to, result.singles) == (2, [])  # not 3: acking it again would close the channel
    assert len(acks) == 0


def test_an_outstanding_delivery_in_the_middle_keeps_later_ones_single() -> None:
    acks = window(1, 2, 3)
    result = acks.committed([1, 3])
    assert (result.up_to, result.singles) == (1, [3])
    result = acks.committed([2])
    assert (result.up_to, result.singles) == (2, [])


def test_an_unknown_tag_is_acked_alone() -> None:
    result = window(5).committed([4])
    assert (result.up_to, result.singles) == (None, [4])
