"""Business rules: who may send from a mailbox, which recipients bounce, what a draft may hold."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.messaging.domain.commands import Draft
from services.messaging.domain.errors import BounceCode
from services.messaging.domain.limits import (
    Limits,
    check_attachment,
    check_attachment_sizes,
    check_text,
)
from services.messaging.domain.model import Author, Mailbox, Recipient
from services.shared.errors import Forbidden, NotFound, Unprocessable


def bounce_code(mailbox: Mailbox | None, now: datetime) -> BounceCode | None:
    """Why a mailbox cannot receive an encrypted message now; None when it can."""
    if mailbox is None:
        return BounceCode.UNKNOWN_RECIPIENT
    if not mailbox.active:
        return BounceCode.INACTIVE_RECIPIENT
    if mailbox.certificate is None:
        return BounceCode.NO_CERTIFICATE
    if not mailbox.can_encrypt_at(now):
        return BounceCode.INVALID_CERTIFICATE
    return None


def split_recipients(
    recipients: Sequence[Recipient], mailboxes: Mapping[str, Mailbox | None], now: datetime
) -> tuple[list[tuple[Recipient, Mailbox]], list[tuple[Recipient, BounceCode]]]:
    deliverable, bounced = [], []
    for recipient in recipients:
        mailbox = mailboxes.get(recipient.address)
        code = bounce_code(mailbox, now)
        if code is None and mailbox is not None:
            deliverable.append((recipient, mailbox))
        else:
            bounced.append((recipient, code or BounceCode.UNKNOWN_RECIPIENT))
    return deliverable, bounced


def may_send_from(author: Author, mailbox: Mailbox) -> bool:
    """An owner, the organisation of an organisational mailbox, or a platform service for APP mailboxes."""
    if mailbox.owned_by(author.rpps):
        return True
    if author.finess and mailbox.organisation_finess and author.finess == mailbox.organisation_finess.upper():
        return True
    return bool(author.service) and mailbox.type == "APP"


def check_sender(author: Author, mailbox: Mailbox | None, now: datetime) -> Mailbox:
    """The sender's mailbox, if the author may send from it and it can keep an encrypted sent copy."""
    if mailbox is None:
        raise Unprocessable("'sender' is not a mailbox the directory knows.", expression="sender")
    if not may_send_from(author, mailbox):
        raise Forbidden("You may only send from a mailbox you own.", expression="sender")
    if not mailbox.active:
        raise Unprocessable("The 'sender' mailbox is deactivated in the directory.", expression="sender")
    if not mailbox.can_encrypt_at(now):
        raise Unprocessable("The 'sender' mailbox has no valid encryption certificate in the directory, "
                            "so no encrypted sent copy can be kept.", expression="sender")
    return mailbox


def check_owner(author: Author, mailbox: Mailbox | None) -> Mailbox:
    """Mailbox folders are read by the mailbox's owners only."""
    if mailbox is None:
        raise NotFound("No mailbox has this address.", expression="address")
    if not mailbox.owned_by(author.rpps):
        raise Forbidden("Only the owners of this mailbox may read or change it.", expression="address")
    return mailbox


def check_draft(draft: Draft, limits: Limits) -> None:
    check_text(draft.text, draft.html, draft.subject, limits)
    check_attachment_sizes([len(a.data) for a in draft.attachments], limits)
    for index, attachment in enumerate(draft.attachments):
        check_attachment(index, attachment.media_type, attachment.data)
