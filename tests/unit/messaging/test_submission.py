"""Submitting a message: sealed before storage, bounces per recipient, objection, idempotent retries."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.messaging.adapters.tables import BUS_TABLES, audit_events, deliveries, messages
from services.messaging.crypto.mime import Attachment
from services.messaging.domain.commands import Draft, Idempotency
from services.messaging.domain.errors import ExchangeObjection, IdempotencyKeyReused
from services.messaging.domain.model import Author
from services.shared.contracts.messaging_events import MESSAGE_BOUNCED, MESSAGE_SUBMITTED
from services.shared.errors import Forbidden, Invalid, TooLarge, Unprocessable
from tests.unit.messaging.world import (
    ALICE,
    BOB,
    CAROL,
    INACTIVE,
    NOCERT,
    RPPS,
    SECRETARIAT,
    UNKNOWN,
    World,
)

INS = "180012B00100188"  # a Corsican NIR (2B) with its key


def test_stored_ciphertext_opens_for_recipient_and_sender_and_is_operator_signed(world: World) -> None:
    body = world.submit(cc=(CAROL,)).body

    assert [r["status"] for r in body["recipients"]] == ["delivered", "delivered"]
    for reader in ("bob", "carol", "alice"):  # alice: her sent copy
        content = world.open(body["id"], reader)
        assert content.subject == "Compte rendu DUPONT Jeanne"
        assert content.headers["X-Maillage-Authenticated-Sender"] == f"rpps={RPPS['alice']}"
        assert content.headers["From"] == ALICE
    assert world.mailbox_count(ALICE, "sent") == 1


def test_nothing_in_clear_leaves_for_the_database_or_the_bus(world: World) -> None:
    world.submit(patient_ins=INS)

    with world.engine.connect() as conn:
        dumped = b"".join(bytes(str(row), "utf-8") for table in (messages, deliveries, audit_events, BUS_TABLES[0])
                          for row in conn.execute(sa.select(table)))
    assert b"DUPONT" not in dumped and INS.encode() not in dumped and b"ci-joint" not in dumped


def test_unreachable_recipients_bounce_while_the_others_are_delivered(world: World) -> None:
    body = world.submit(to=(BOB, UNKNOWN, INACTIVE), cc=(NOCERT,)).body

    statuses = {r["address"]: (r["status"], r.get("code")) for r in body["recipients"]}
    assert statuses == {BOB: ("delivered", None), UNKNOWN: ("bounced", "UNKNOWN_RECIPIENT"),
                        INACTIVE: ("bounced", "INACTIVE_RECIPIENT"), NOCERT: ("bounced", "NO_CERTIFICATE")}
    assert "annuaire" in next(r["reason"] for r in body["recipients"] if r["address"] == UNKNOWN)
    [submitted] = world.events(MESSAGE_SUBMITTED)
    [bounced] = world.events(MESSAGE_BOUNCED)
    assert submitted.data["recipients"] == [BOB]
    assert {b["recipient"] for b in bounced.data["bounces"]} == {UNKNOWN, INACTIVE, NOCERT}
    assert bounced.data["notify_sender"] is True


def test_an_objecting_patient_stops_the_message_and_leaves_only_an_audit_trace(world: World) -> None:
    world.directory.object(INS)

    with pytest.raises(ExchangeObjection) as refused:
        world.submit(patient_ins=INS)

    assert refused.value.status == 422 and refused.value.expression == "patient_ins"
    assert world.count(messages) == 0 and world.events() == []
    assert world.count(audit_events, outcome="rejected:objection") == 1


def test_a_retry_with_the_same_key_is_answered_the_same_and_counts_once(world: World) -> None:
    key = Idempotency(scope="8" + RPPS["alice"], key="k-1", fingerprint="f1")

    first = world.submit(idempotency=key)
    again = world.submit(idempotency=key)

    assert again.body == first.body and again.replayed and not first.replayed
    assert world.count(messages) == 1 and len(world.events(MESSAGE_SUBMITTED)) == 1
    with pytest.raises(IdempotencyKeyReused):
        world.submit(idempotency=Idempotency(scope=key.scope, key="k-1", fingerprint="another body"))


def test_only_an_owner_may_send_from_a_mailbox(world: World) -> None:
    with pytest.raises(Forbidden):
        world.submit(author="bob")  # bob does not own alice's mailbox
    organisational = world.submit(sender=SECRETARIAT, author="carol").body  # one of its two owners
    assert organisational["sender"] == SECRETARIAT


def test_a_platform_service_sends_notices_from_the_platform_mailbox(world: World) -> None:
    body = world.submit(sender=world.platform.address,
                        author_identity=Author("service:coordination", service="coordination")).body
    assert body["recipients"][0]["status"] == "delivered"
    assert world.mailbox_count(world.platform.address, "sent") == 0


def test_an_unknown_sender_mailbox_is_refused(world: World) -> None:
    with pytest.raises(Unprocessable) as refused:
        world.submit(sender=UNKNOWN)
    assert refused.value.expression == "sender"


@pytest.mark.parametrize("attachment, where", [
    (Attachment("photo.png", "image/png", b"\x89PNG"), "attachments[0].content_type"),
    (Attachment("cr.pdf", "application/pdf", b"not a pdf"), "attachments[0].data"),
    (Attachment("lot.zip", "application/zip", b"PK\x03\x04 broken"), "attachments[0].data"),
])
def test_attachments_are_allow_listed_and_sniffed(world: World, attachment: Attachment, where: str) -> None:
    with pytest.raises(Invalid) as refused:
        world.submit(content=Draft("Objet", "Texte", attachments=(attachment,)))
    assert refused.value.expression == where


def test_attachments_over_the_limit_are_refused_naming_the_limit(world: World) -> None:
    big = Attachment("cr.pdf", "application/pdf", b"%PDF-" + b"0" * (20 * 1024 * 1024))
    with pytest.raises(TooLarge) as refused:
        world.submit(content=Draft("Objet", "Texte", attachments=(big,)))
    assert refused.value.status == 413 and str(20 * 1024 * 1024) in refused.value.message
