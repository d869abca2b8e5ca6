"""Platform notices: the welcome kit, bounce notices and RFC 8098 read receipts, each sent once."""
from __future__ import annotations

import email
import email.policy

import pytest

from services.messaging.adapters.tables import messages
from services.messaging.domain.commands import EntryAction
from services.messaging.domain.errors import RecipientNotReady
from services.messaging.domain.model import Author
from services.messaging.handlers import mailbox, notices
from services.shared.bus.envelope import CloudEvent
from services.shared.bus.schemas import validate_event_body
from services.shared.contracts.messaging_events import MESSAGE_BOUNCED, MESSAGE_READ
from services.shared.pki.cms import decrypt, verify
from tests.unit.messaging.world import ALICE, BOB, NOCERT, RPPS, UNKNOWN, World


def enrolled(mailbox_address: str = BOB, enrolment_id: str = "enr-1", **extra: str) -> CloudEvent:
    event = CloudEvent(type="professional.enrolled", source="urn:maillage:service:directory", data={
        "schema_version": 1, "enrolment_id": enrolment_id, "rpps": RPPS["bob"], "mailbox": mailbox_address,
        "display_name": "Dr Bob Durand", "enrolled_at": "2025-01-31T08:00:00+00:00", **extra})
    validate_event_body(event.type, event.to_dict())
    return event


def completed(mailbox_address: str = BOB, enrolment_id: str = "enr-1") -> CloudEvent:
    event = CloudEvent(type="enrolment.completed", source="urn:maillage:service:directory", data={
        "schema_version": 1, "enrolment_id": enrolment_id, "rpps": RPPS["bob"], "mailbox": mailbox_address,
        "display_name": "Dr Bob Durand", "certificate_fingerprint": "ab" * 32,
        "completed_at": "2025-01-31T09:00:00+00:00"})
    validate_event_body(event.type, event.to_dict())
    return event


def notice_in(world: World, reader: str, address: str) -> email.message.EmailMessage:
    with world.engine.connect() as conn:
        [message_id] = conn.scalars(messages.select().with_only_columns(messages.c.id)
                                    .where(messages.c.notice.is_(True))).all()
    identity = world.pki[reader]
    signed = verify(decrypt(world.ciphertext(message_id), identity.cert, identity.key), list(world.operator.chain))
    assert world.mailbox_count(address) == 1
    return email.message_from_bytes(signed.content, policy=email.policy.default)  # type: ignore[return-value]


def test_the_welcome_kit_arrives_by_secure_message_once_in_french(world: World) -> None:
    for _ in range(2):  # the same enrolment announced twice, under different event ids
        world.handle(enrolled(), notices.send_welcome_kit, **world.deps())

    kit = notice_in(world, "bob", BOB)
    assert kit["From"] == world.platform.address and kit["Subject"].startswith("Bienvenue")
    assert "Bonjour Dr Bob Durand" in kit.get_body().get_content() and BOB in kit.get_body().get_content()


def test_the_welcome_kit_waits_for_a_mailbox_that_cannot_receive_yet(world: World) -> None:
    with pytest.raises(RecipientNotReady):
        world.handle(enrolled(NOCERT), notices.send_welcome_kit, **world.deps())
    assert world.count(messages) == 0


def test_a_held_kit_is_not_attempted_on_enrolment_and_goes_once_on_completion(world: World) -> None:
    world.handle(enrolled(account_kit="held"), notices.send_welcome_kit, **world.deps())
    assert world.count(messages) == 0  # held means held, even if the mailbox could receive by now
    world.handle(enrolled(NOCERT, "enr-2", account_kit="held"), notices.send_welcome_kit, **world.deps())
    assert world.count(messages) == 0  # and no retry towards the dead letters either

    for event in (completed(), completed(), enrolled(account_kit="sending")):  # replays and both announcements
        world.handle(event, notices.send_welcome_kit, **world.deps())

    kit = notice_in(world, "bob", BOB)
    assert kit["Subject"].startswith("Bienvenue") and "Bonjour Dr Bob Durand" in kit.get_body().get_content()


def test_a_completed_enrolment_whose_mailbox_still_cannot_receive_is_retried(world: World) -> None:
    with pytest.raises(RecipientNotReady):
        world.handle(completed(NOCERT), notices.send_welcome_kit, **world.deps())
    assert world.count(messages) == 0


def test_the_sender_gets_a_bounce_notice_naming_recipient_and_reason(world: World) -> None:
    world.submit(to=(BOB, UNKNOWN))
    [bounced] = world.events(MESSAGE_BOUNCED)

    world.handle(bounced, notices.send_bounce_notice, **world.deps())

    text = notice_in(world, "alice", ALICE).get_body().get_content()
    assert UNKNOWN in text and "Adresse inconnue de l'annuaire" in text and "UNKNOWN_RECIPIENT" in text


def test_a_read_receipt_is_an_mdn_sent_only_when_asked(world: World) -> None:
    bob = Author("8" + RPPS["bob"], rpps=RPPS["bob"])
    asked = world.submit(read_receipt=True).body["id"]
    silent = world.submit().body["id"]
    for message_id in (asked, silent):
        mailbox.mark_read(EntryAction(BOB, message_id, bob), uow=world.uow(), directory=world.directory,
                          clock=world.clock)
    for event in world.events(MESSAGE_READ):
        world.handle(event, notices.send_read_receipt, **world.deps())

    mdn = notice_in(world, "alice", ALICE)
    assert mdn.get_content_type() == "multipart/report" and mdn.get_param("report-type") == "disposition-notification"
    notification = mdn.get_payload()[1].as_string()
    assert "Disposition: automatic-action/MDN-sent-automatically; displayed" in notification
    assert f"Final-Recipient: rfc822; {BOB}" in notification and asked in mdn["In-Reply-To"]
