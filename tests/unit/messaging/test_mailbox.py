"""Mailbox folders: owners only, cursor paging, unread filter, read marks, soft delete and restore."""
from __future__ import annotations

import pytest

from services.messaging.adapters.audit import verify_chain
from services.messaging.domain.commands import EntryAction, MailboxQuery
from services.messaging.domain.model import Author, Folder
from services.messaging.handlers import mailbox
from services.shared.contracts.messaging_events import MESSAGE_READ
from services.shared.errors import Conflict, Forbidden, NotFound
from tests.unit.messaging.world import ALICE, BOB, CAROL, RPPS, SECRETARIAT, UNKNOWN, World

BOB_AUTHOR = Author("8" + RPPS["bob"], rpps=RPPS["bob"])


def action(world: World, message_id: str, who: Author = BOB_AUTHOR, box: str = BOB) -> EntryAction:
    return EntryAction(mailbox=box, message_id=message_id, author=who)


def deliver(world: World, count: int, **changes: object) -> list[str]:
    ids = [world.submit(**changes).body["id"] for _ in range(count)]  # type: ignore[arg-type]
    return ids


def test_pages_follow_the_cursor_newest_first(world: World) -> None:
    ids = deliver(world, 5)
    seen, cursor = [], None
    while True:
        page = mailbox.list_messages(MailboxQuery(BOB, limit=2, cursor=cursor), BOB_AUTHOR, uow=world.uow(),
                                     directory=world.directory)
        seen += [entry.message_id for entry in page.entries]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(ids))


def test_unread_filter_and_read_mark_with_its_event(world: World) -> None:
    first, second = deliver(world, 2, read_receipt=True)

    read = mailbox.mark_read(action(world, first), uow=world.uow(), directory=world.directory, clock=world.clock)
    mailbox.mark_read(action(world, first), uow=world.uow(), directory=world.directory, clock=world.clock)

    unread = mailbox.list_messages(MailboxQuery(BOB, unread=True), BOB_AUTHOR, uow=world.uow(),
                                   directory=world.directory)
    assert read.read_at is not None and [e.message_id for e in unread.entries] == [second]
    [announced] = world.events(MESSAGE_READ)  # the second mark is not a new read
    assert announced.data == {**announced.data, "message_id": first, "reader": BOB, "sender": ALICE,
                              "receipt_requested": True}


def test_the_sender_sees_delivery_and_read_status_in_the_sent_copy(world: World) -> None:
    [message_id] = deliver(world, 1, cc=(CAROL,), read_receipt=True)
    mailbox.mark_read(action(world, message_id), uow=world.uow(), directory=world.directory, clock=world.clock)
    alice = Author("8" + RPPS["alice"], rpps=RPPS["alice"])

    sent = mailbox.read_message(EntryAction(ALICE, message_id, alice, Folder.SENT), uow=world.uow(),
                                directory=world.directory, clock=world.clock)

    statuses = {d.recipient: (d.status.value, d.read_at is not None) for d in sent.deliveries}
    assert statuses == {BOB: ("delivered", True), CAROL: ("delivered", False)} and sent.ciphertext


def test_only_owners_reach_a_mailbox_and_unknown_ones_are_not_found(world: World) -> None:
    [message_id] = deliver(world, 1)
    carol = Author("8" + RPPS["carol"], rpps=RPPS["carol"])
    with pytest.raises(Forbidden):
        mailbox.read_message(action(world, message_id, carol), uow=world.uow(), directory=world.directory,
                             clock=world.clock)
    with pytest.raises(NotFound):
        mailbox.list_messages(MailboxQuery(UNKNOWN), carol, uow=world.uow(), directory=world.directory)
    with pytest.raises(NotFound) as unknown:
        mailbox.read_message(action(world, "00000000-0000-4000-8000-000000000000"), uow=world.uow(),
                             directory=world.directory, clock=world.clock)
    assert unknown.value.expression == "message_id"  # the path parameter's name in the OpenAPI document


def test_every_owner_of_an_organisational_mailbox_reads_it(world: World) -> None:
    [message_id] = deliver(world, 1, to=(SECRETARIAT,))
    for owner in ("bob", "carol"):
        who = Author("8" + RPPS[owner], rpps=RPPS[owner])
        entry = mailbox.read_message(action(world, message_id, who, SECRETARIAT), uow=world.uow(),
                                     directory=world.directory, clock=world.clock)
        assert entry.ciphertext


def test_deleted_messages_leave_the_listing_and_come_back_within_thirty_days(world: World) -> None:
    [message_id] = deliver(world, 1)
    deps = {"uow": world.uow(), "directory": world.directory, "clock": world.clock}

    deleted = mailbox.delete(action(world, message_id), **deps)
    listed = mailbox.list_messages(MailboxQuery(BOB), BOB_AUTHOR, uow=world.uow(), directory=world.directory)
    trash = mailbox.list_messages(MailboxQuery(BOB, deleted=True), BOB_AUTHOR, uow=world.uow(),
                                  directory=world.directory)
    world.clock.advance(days=29)
    restored = mailbox.restore(action(world, message_id), platform=world.platform, **deps)

    assert deleted.deleted_at is not None and listed.entries == () and len(trash.entries) == 1
    assert restored.deleted_at is None


def test_a_message_deleted_over_thirty_days_ago_cannot_be_restored(world: World) -> None:
    [message_id] = deliver(world, 1)
    mailbox.delete(action(world, message_id), uow=world.uow(), directory=world.directory, clock=world.clock)
    world.clock.advance(days=31)
    with pytest.raises(Conflict) as late:
        mailbox.restore(action(world, message_id), uow=world.uow(), directory=world.directory,
                        platform=world.platform, clock=world.clock)
    assert late.value.expression == "message_id"


def test_reads_and_writes_are_audited_in_an_unbroken_chain(world: World) -> None:
    [message_id] = deliver(world, 1)
    mailbox.read_message(action(world, message_id), uow=world.uow(), directory=world.directory, clock=world.clock)
    with world.engine.connect() as conn:
        assert verify_chain(conn) is None
        conn.exec_driver_sql("UPDATE audit_events SET actor = 'rpps=someone-else' WHERE seq = 1")
        assert verify_chain(conn) == 1


def test_since_keeps_what_arrived_from_then_on(world: World) -> None:
    [early] = deliver(world, 1)
    world.clock.advance(hours=2)
    cut = world.clock.now
    [late] = deliver(world, 1)

    page = mailbox.list_messages(MailboxQuery(BOB, since=cut), BOB_AUTHOR, uow=world.uow(), directory=world.directory)

    assert [entry.message_id for entry in page.entries] == [late] and early != late


def test_a_reply_joins_the_thread_of_the_message_it_answers(world: World) -> None:
    [original] = deliver(world, 1)
    bob = {"author": "bob", "sender": BOB, "to": (ALICE,)}
    reply = world.submit(in_reply_to=original, **bob).body["id"]  # type: ignore[arg-type]

    entry = mailbox.read_message(EntryAction(ALICE, reply, Author("8" + RPPS["alice"], rpps=RPPS["alice"])),
                                 uow=world.uow(), directory=world.directory, clock=world.clock)
    assert entry.thread_id == original and entry.in_reply_to == original
    assert world.open(reply, "alice").headers["In-Reply-To"] == f"<{original}@maillage.test>"
