"""Before anything is stored: resolve the mailboxes, check the sender and the patient's objection, seal."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from services.messaging.adapters.composer import Envelope, compose
from services.messaging.adapters.sealing import encrypt_client_signed, route_end_to_end, seal_as_operator
from services.messaging.domain.commands import Draft, EncryptedByClient, SignedByClient, SubmitMessage
from services.messaging.domain.errors import BounceCode, ExchangeObjection
from services.messaging.domain.model import Mailbox, Mode, Recipient
from services.messaging.domain.rules import check_draft, check_sender, split_recipients
from services.messaging.platform import Platform
from services.messaging.ports import Clock, DirectoryPort
from services.shared.errors import MaillageError, TooLarge


@dataclass(frozen=True)
class Prepared:
    """A message sealed and routed, ready to be committed; nothing in clear but routing metadata."""

    message_id: str
    command: SubmitMessage
    mode: Mode
    ciphertext: bytes
    deliverable: tuple[Recipient, ...]
    bounces: tuple[tuple[Recipient, BounceCode], ...]
    sender_copy: bool
    submitted_at: datetime
    notice: bool = False


def prepare(command: SubmitMessage, *, directory: DirectoryPort, platform: Platform, clock: Clock,
            message_id: str | None = None) -> Prepared:
    """``message_id``: one derived from what caused the message (a platform service's request), else a new one."""
    now = clock()
    sender, deliverable, bounces = _route(command, directory, platform, now)
    message_id = message_id or str(uuid.uuid4())
    certs = _certificates(deliverable, sender, platform)
    mode, ciphertext, missed = _seal(command, message_id, now, certs, [box for _, box in deliverable], platform,
                                     sender.certificate if sender is not None else None)
    bounces += [(recipient, BounceCode.NOT_ENCRYPTED_FOR_RECIPIENT)
                for recipient, box in deliverable if box.address in missed]
    return Prepared(
        message_id=message_id, command=command, mode=mode, ciphertext=ciphertext,
        deliverable=tuple(r for r, box in deliverable if box.address not in missed), bounces=tuple(bounces),
        sender_copy=sender is not None, submitted_at=now, notice=sender is None,
    )


def _route(command: SubmitMessage, directory: DirectoryPort, platform: Platform, now: datetime
           ) -> tuple[Mailbox | None, list[tuple[Recipient, Mailbox]], list[tuple[Recipient, BounceCode]]]:
    """The sender's mailbox (None for a platform notice), and who can receive the message and who bounces."""
    mailboxes = directory.resolve([command.sender, *(r.address for r in command.recipients)])
    platform_notice = bool(command.author.service) and command.sender == platform.address
    sender = None if platform_notice else check_sender(command.author, mailboxes.get(command.sender), now)
    if command.patient_ins and directory.objects_to_exchange(command.patient_ins):
        raise ExchangeObjection()
    deliverable, bounces = split_recipients(command.recipients, mailboxes, now)
    return sender, deliverable, bounces


def _certificates(deliverable: list[tuple[Recipient, Mailbox]], sender: Mailbox | None,
                  platform: Platform) -> list[x509.Certificate]:
    """Each recipient's, the sender's for the sent copy; the operator's when nobody else can read it."""
    boxes = [box for _, box in deliverable] + ([sender] if sender is not None else [])
    certs = [box.certificate for box in boxes if box.certificate is not None]
    return certs or [platform.operator.certificate]


def _seal(command: SubmitMessage, message_id: str, now: datetime, certs: list[x509.Certificate],
          recipients: list[Mailbox], platform: Platform,
          sender_certificate: x509.Certificate | None) -> tuple[Mode, bytes, list[str]]:
    content, limits = command.content, platform.settings.limits
    if isinstance(content, Draft):
        check_draft(content, limits)
        envelope = Envelope(message_id, command.sender, command.recipients, command.author, now,
                            platform.settings.platform_domain, command.priority, command.in_reply_to)
        mime = compose(content, envelope, patient_ins=command.patient_ins, read_receipt=command.read_receipt)
        return Mode.PLATFORM_SIGNED, seal_as_operator(mime, platform.operator, certs), []
    field = "signed_mime" if isinstance(content, SignedByClient) else "encrypted_mime"
    if len(content.smime) > limits.max_sealed_bytes:
        raise TooLarge(f"'{field}' is larger than {limits.max_sealed_bytes} bytes.", expression=field)
    try:
        if isinstance(content, SignedByClient):
            trusted = list(platform.trusted) if platform.trusted is not None else None
            return Mode.CLIENT_SIGNED, encrypt_client_signed(content.smime, command.sender, certs, trusted,
                                                             platform.revocations,
                                                             patient_ins=command.patient_ins,
                                                             sender_certificate=sender_certificate), []
        assert isinstance(content, EncryptedByClient)
        der, missed = route_end_to_end(content.smime, recipients)
        return Mode.END_TO_END, der, missed
    except MaillageError as error:
        error.expression = error.expression or field  # say which field held the faulty S/MIME
        raise
