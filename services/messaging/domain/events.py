"""The events the messaging service publishes, built from its domain values (routing metadata only).

Contracts: services.shared.contracts.messaging_events.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.messaging.domain.errors import BounceCode
from services.shared.contracts.messaging_events import (
    Bounce,
    MessageBounced,
    MessageDelivered,
    MessagePriority,
    MessageRead,
    MessageSubmitted,
    SendingMode,
)


def submitted(message_id: str, sender: str, recipients: Sequence[str], *, mode: SendingMode, priority: MessagePriority,
              size: int, at: datetime) -> MessageSubmitted:
    return MessageSubmitted(message_id=message_id, sender=sender, recipients=tuple(recipients), mode=mode,
                            priority=priority, size=size, submitted_at=at)


def delivered(message_id: str, sender: str, recipients: Sequence[str], at: datetime) -> MessageDelivered:
    return MessageDelivered(message_id=message_id, sender=sender, recipients=tuple(recipients), delivered_at=at)


def bounced(message_id: str, sender: str, bounces: Sequence[tuple[str, BounceCode]], at: datetime,
            *, notify_sender: bool) -> MessageBounced:
    return MessageBounced(message_id=message_id, sender=sender,
                          bounces=tuple(Bounce(recipient=address, code=code.value) for address, code in bounces),
                          notify_sender=notify_sender, bounced_at=at)


def read(message_id: str, reader: str, sender: str, at: datetime, *, receipt_requested: bool) -> MessageRead:
    return MessageRead(message_id=message_id, reader=reader, sender=sender, receipt_requested=receipt_requested,
                       read_at=at)
