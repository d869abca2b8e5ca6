"""The events the messaging service publishes: type strings and their data (routing metadata only)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.messaging.domain.errors import BounceCode

SUBMITTED = "message.submitted"
DELIVERED = "message.delivered"
BOUNCED = "message.bounced"
READ = "message.read"
ENROLLED = "professional.enrolled"  # consumed: the directory's
ENROLMENT_COMPLETED = "enrolment.completed"  # consumed: the directory's (a held account kit can go)
SCHEMA_VERSION = 1


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def subject_of(message_id: str) -> str:
    return f"Message/{message_id}"


def submitted(message_id: str, sender: str, recipients: Sequence[str], *, mode: str, priority: str,
              size: int, at: datetime) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "message_id": message_id, "sender": sender,
            "recipients": list(recipients), "mode": mode, "priority": priority, "size": size,
            "submitted_at": _iso(at)}


def delivered(message_id: str, sender: str, recipients: Sequence[str], at: datetime) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "message_id": message_id, "sender": sender,
            "recipients": list(recipients), "delivered_at": _iso(at)}


def bounced(message_id: str, sender: str, bounces: Sequence[tuple[str, BounceCode]], at: datetime,
            *, notify_sender: bool) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "message_id": message_id, "sender": sender,
            "bounces": [{"recipient": address, "code": code.value} for address, code in bounces],
            "notify_sender": notify_sender, "bounced_at": _iso(at)}


def read(message_id: str, reader: str, sender: str, at: datetime, *, receipt_requested: bool) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "message_id": message_id, "reader": reader, "sender": sender,
            "receipt_requested": receipt_requested, "read_at": _iso(at)}
