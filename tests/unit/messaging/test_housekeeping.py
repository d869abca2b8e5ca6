"""The retention sweep: messages deleted beyond the restore period go, with their ciphertext; fresh ones stay."""
from __future__ import annotations

from datetime import timedelta

from services.messaging.adapters.tables import idempotency_keys, messages
from services.messaging.domain.commands import EntryAction, Idempotency
from services.messaging.domain.model import Author, Folder
from services.messaging.handlers import mailbox
from services.messaging.handlers.housekeeping import sweep
from tests.unit.messaging.world import ALICE, BOB, RPPS, World


def delete(world: World, box: str, who: str, message_id: str, folder: Folder) -> None:
    author = Author("8" + RPPS[who], rpps=RPPS[who])
    mailbox.delete(EntryAction(box, message_id, author, folder), uow=world.uow(), directory=world.directory,
                   clock=world.clock)


def test_the_sweep_purges_what_was_deleted_long_ago_and_keeps_the_rest(world: World) -> None:
    key = Idempotency("8" + RPPS["alice"], "k", "f")
    old = world.submit(idempotency=key).body["id"]
    kept = world.submit().body["id"]
    delete(world, BOB, "bob", old, Folder.INBOX)
    delete(world, ALICE, "alice", old, Folder.SENT)
    world.clock.advance(days=31)

    sweep(uow=world.uow(), clock=world.clock, retention=timedelta(days=30), keys_for=timedelta(hours=24))

    assert world.count(messages, id=old) == 0 and world.count(messages, id=kept) == 1
    assert world.mailbox_count(BOB) == 1 and world.count(idempotency_keys) == 0
