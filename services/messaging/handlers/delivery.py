"""Deliver a submitted message into its recipients' mailboxes: at most once per mailbox, then announce it."""
from __future__ import annotations

from services.messaging.adapters import repository
from services.messaging.domain import events
from services.messaging.domain.model import Folder
from services.messaging.ports import Clock
from services.shared.bus.envelope import CloudEvent
from services.shared.db import UnitOfWork


def deliver(event: CloudEvent, *, uow: UnitOfWork, clock: Clock) -> None:
    """Runs once per event (db.handle_once); the unique (mailbox, message, folder) guards the rest."""
    data = event.data
    message_id, sender, recipients = data["message_id"], data["sender"], list(data["recipients"])
    now = clock()
    repository.add_entries(uow.connection, message_id, recipients, Folder.INBOX, now.timestamp())
    repository.mark_delivered(uow.connection, message_id, recipients, now.timestamp())
    uow.publish(events.DELIVERED, events.delivered(message_id, sender, recipients, now),
                subject=events.subject_of(message_id))
