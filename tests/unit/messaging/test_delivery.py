"""Delivery of submitted messages: once per mailbox, whatever the redeliveries."""
from __future__ import annotations

from dataclasses import replace

from services.messaging.adapters.mailboxes import list_entries
from services.messaging.adapters.repository import deliveries_of
from services.messaging.domain import events
from services.messaging.domain.commands import MailboxQuery
from services.messaging.handlers.delivery import deliver
from tests.unit.messaging.world import BOB, CAROL, World


def test_delivery_places_the_message_in_each_inbox_and_announces_it(world: World) -> None:
    message_id = world.submit(cc=(CAROL,)).body["id"]

    world.deliver_all()

    assert world.mailbox_count(BOB) == 1 and world.mailbox_count(CAROL) == 1
    [delivered] = world.events(events.DELIVERED)
    assert delivered.data["recipients"] == [BOB, CAROL] and delivered.subject == f"Message/{message_id}"
    with world.engine.connect() as conn:
        assert {d.status.value for d in deliveries_of(conn, message_id)} == {"delivered"}


def test_a_redelivered_event_does_not_deliver_twice(world: World) -> None:
    world.submit()
    [submitted] = world.events(events.SUBMITTED)

    world.handle(submitted, deliver, clock=world.clock)
    world.handle(submitted, deliver, clock=world.clock)  # same event id: skipped by the claim
    world.handle(replace(submitted, id="republished-copy"), deliver, clock=world.clock)  # new id: unique row holds

    assert world.mailbox_count(BOB) == 1
    with world.engine.connect() as conn:
        assert len(list_entries(conn, MailboxQuery(BOB)).entries) == 1
