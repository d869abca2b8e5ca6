"""Messages the platform itself sends: welcome kits, bounce notices and read receipts, each at most once."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from services.messaging.adapters import repository, texts
from services.messaging.adapters.composer import Envelope, compose
from services.messaging.adapters.receipts import build_mdn
from services.messaging.adapters.sealing import seal_as_operator
from services.messaging.domain.commands import Draft, SubmitMessage
from services.messaging.domain.errors import BounceCode, RecipientNotReady
from services.messaging.domain.model import Author, Mode, Recipient, RecipientKind
from services.messaging.domain.rules import bounce_code
from services.messaging.handlers.preparation import Prepared
from services.messaging.handlers.submission import record
from services.messaging.platform import Platform
from services.messaging.ports import Clock, DirectoryPort
from services.shared.contracts import Envelope as Event
from services.shared.contracts.directory_events import EnrolmentCompleted, ProfessionalEnrolled
from services.shared.contracts.messaging_events import MessageBounced, MessageRead
from services.shared.db import UnitOfWork
from services.shared.identifiers import check_mailbox_address
from services.shared.logging import get_logger

NOTICES = uuid.UUID("5d7e6a52-3f0c-4b8e-9a51-0b6f8f3c2a10")
PLATFORM_AUTHOR = Author(subject="service:messaging", service="messaging")
log = get_logger(__name__)


@dataclass(frozen=True)
class Notice:
    message_id: str  # derived from what caused it, so a replayed cause sends nothing twice
    to: str
    draft: Draft
    in_reply_to: str | None = None
    must_reach: bool = False  # True: retry (then dead-letter) while the mailbox cannot receive it
    read_by: str | None = None  # set for a read receipt: the MIME is an RFC 8098 MDN


def notice_id(*parts: str) -> str:
    return str(uuid.uuid5(NOTICES, "/".join(parts)))


def send_welcome_kit(event: Event[ProfessionalEnrolled | EnrolmentCompleted], *, uow: UnitOfWork,
                     directory: DirectoryPort, platform: Platform, clock: Clock) -> None:
    """On ``professional.enrolled``, unless the kit is held for want of a certificate; on ``enrolment.completed``.

    One kit per enrolment whichever event (or replay of it) comes: the notice id is the enrolment's.
    """
    data = event.data
    if isinstance(data, ProfessionalEnrolled) and data.account_kit == "held":
        log.info("welcome kit held until a certificate is published", enrolment_id=data.enrolment_id)
        return
    mailbox = check_mailbox_address(data.mailbox, field="mailbox")
    text = texts.welcome_text(data.display_name, mailbox, data.enrolment_id)
    notice = Notice(notice_id("welcome", data.enrolment_id), mailbox, Draft(texts.WELCOME_SUBJECT, text),
                    must_reach=True)
    send_notice(notice, uow=uow, directory=directory, platform=platform, clock=clock)


def send_bounce_notice(event: Event[MessageBounced], *, uow: UnitOfWork, directory: DirectoryPort,
                       platform: Platform, clock: Clock) -> None:
    data = event.data
    if not data.notify_sender:
        return  # a platform notice that bounced: a bounce never bounces
    bounces = [(b.recipient, BounceCode(b.code)) for b in data.bounces]
    text = texts.bounce_text(data.message_id, data.bounced_at, bounces)
    notice = Notice(notice_id("bounce", data.message_id), data.sender, Draft(texts.BOUNCE_SUBJECT, text),
                    in_reply_to=data.message_id)
    send_notice(notice, uow=uow, directory=directory, platform=platform, clock=clock)


def send_read_receipt(event: Event[MessageRead], *, uow: UnitOfWork, directory: DirectoryPort,
                      platform: Platform, clock: Clock) -> None:
    data = event.data
    if not data.receipt_requested or data.sender == platform.address:
        return
    text = texts.read_text(data.reader, data.read_at, data.message_id)
    notice = Notice(notice_id("read", data.message_id, data.reader), data.sender,
                    Draft(texts.READ_SUBJECT, text), in_reply_to=data.message_id, read_by=data.reader)
    send_notice(notice, uow=uow, directory=directory, platform=platform, clock=clock)


def send_notice(notice: Notice, *, uow: UnitOfWork, directory: DirectoryPort, platform: Platform,
                clock: Clock) -> bool:
    """Sign as the operator, encrypt for the one recipient, record; False when already sent or unreachable."""
    if repository.message_exists(uow.connection, notice.message_id):
        return False
    now = clock()
    mailbox = directory.resolve([notice.to]).get(notice.to)
    code = bounce_code(mailbox, now)
    if code is not None or mailbox is None or mailbox.certificate is None:
        if notice.must_reach:
            raise RecipientNotReady(f"The mailbox cannot receive encrypted messages yet ({code}); retrying later.")
        log.warning("platform notice not sent", message_id=notice.message_id, code=str(code))
        return False
    record(_sealed(notice, mailbox.certificate, platform, now), uow)
    return True


def _sealed(notice: Notice, certificate: x509.Certificate, platform: Platform, now: datetime) -> Prepared:
    recipient = Recipient(notice.to, RecipientKind.TO)
    envelope = Envelope(notice.message_id, platform.address, (recipient,), PLATFORM_AUTHOR, now,
                        platform.settings.platform_domain, in_reply_to=notice.in_reply_to)
    ciphertext = seal_as_operator(_mime(notice, envelope), platform.operator, [certificate])
    command = SubmitMessage(sender=platform.address, recipients=(recipient,), author=PLATFORM_AUTHOR,
                            content=notice.draft, in_reply_to=notice.in_reply_to)
    return Prepared(notice.message_id, command, Mode.PLATFORM_SIGNED, ciphertext, (recipient,), (),
                    sender_copy=False, submitted_at=now, notice=True)


def _mime(notice: Notice, envelope: Envelope) -> bytes:
    if notice.read_by is None or notice.in_reply_to is None:
        return compose(notice.draft, envelope, patient_ins=None, read_receipt=False)
    return build_mdn(envelope, subject=notice.draft.subject, human_text=notice.draft.text,
                     final_recipient=notice.read_by, original_message_id=notice.in_reply_to)
