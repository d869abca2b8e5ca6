"""The messaging service: dependency providers, bus entrypoints, and the HTTP routes of entrypoints/."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from nameko.timer import timer

from services.messaging.adapters.tables import BUS_TABLES
from services.messaging.dependencies import Committer, Directory, PlatformIdentity, utc_now
from services.messaging.entrypoints.mailboxes import MailboxRoutes
from services.messaging.entrypoints.submission import SubmissionRoutes
from services.messaging.handlers import notices, requests
from services.messaging.handlers.housekeeping import sweep
from services.shared.contracts import Envelope
from services.shared.contracts.directory_events import EnrolmentCompleted, ProfessionalEnrolled
from services.shared.contracts.messaging_events import MessageBounced, MessageRead, MessageRequested
from services.shared.nameko_ext.database import Database
from services.shared.nameko_ext.events import event_handler

SWEEP_SECONDS = 3600


class MessagingService(SubmissionRoutes, MailboxRoutes):
    """Secure messages: submission, signature, per-recipient encryption, mailboxes, receipts, bounces."""

    name = "messaging"
    db = Database(BUS_TABLES)
    directory = Directory()
    platform = PlatformIdentity()
    committer = Committer()

    @event_handler(MessageBounced)
    def send_bounce_notice(self, event: Envelope[MessageBounced]) -> None:
        self.db.handle_once(event, notices.send_bounce_notice, **self._deps())

    @event_handler(MessageRead)
    def send_read_receipt(self, event: Envelope[MessageRead]) -> None:
        self.db.handle_once(event, notices.send_read_receipt, **self._deps())

    @event_handler(MessageRequested)
    def send_requested_message(self, event: Envelope[MessageRequested]) -> None:
        """A platform service asks for a secure message (services.shared.clients.messaging): sent once per key."""
        self.db.handle_once(event, requests.send_requested, **self._deps())

    @event_handler(ProfessionalEnrolled, EnrolmentCompleted)
    def send_welcome_kit(self, event: Envelope[ProfessionalEnrolled | EnrolmentCompleted]) -> None:
        self.db.handle_once(event, notices.send_welcome_kit, **self._deps())

    @timer(interval=SWEEP_SECONDS)
    def sweep(self) -> None:
        """Purge what was deleted beyond the restore period, and expired idempotency keys."""
        settings = self.platform.settings
        sweep(uow=self.db.uow(), clock=utc_now, retention=timedelta(days=settings.retention_days),
              keys_for=timedelta(hours=settings.idempotency_hours))

    def _deps(self) -> dict[str, Any]:
        return {"directory": self.directory, "platform": self.platform, "clock": utc_now}
