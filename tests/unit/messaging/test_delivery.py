"""Delivery of submitted messages: in the submission's own transaction, once per mailbox."""
from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from services.messaging.adapters import repository
from services.messaging.adapters.mailboxes import list_entries
from services.messaging.adapters.repository import deliveries_of
from services.messaging.domain import events
from services.messaging.domain.commands import Idempotency, MailboxQuery
from services.messaging.domain.model import Folder
from services.messaging.handlers.group_commit import GroupCommit
from services.messaging.handlers.submission import submit
from services.shared.db import UnitOfWork
from tests.unit.messaging.world import BOB, CAROL, RPPS, World


def test_a_committed_submission_is_in_each_inbox_and_announced(world: World) -> None:
    message_id = world.submit(cc=(CAROL,)).body["id"]

    assert world.mailbox_count(BOB) == 1 and world.mailbox_count(CAROL) == 1
    [submitted] = world.events(events.SUBMITTED)
    [delivered] = world.events(events.DELIVERED)
    assert delivered.data["recipients"] == [BOB, CAROL] and delivered.subject == f"Message/{message_id}"
    assert submitted.data["recipients"] == [BOB, CAROL]
    with world.engine.connect() as conn:
        views = deliveries_of(conn, message_id)
    assert {d.status.value for d in views} == {"delivered"} and all(d.delivered_at for d in views)


def test_placing_a_message_again_leaves_one_entry_per_mailbox(world: World) -> None:
    message_id = world.submit().body["id"]

    with world.uow() as uow:  # what a replayed write would do: the unique (mailbox, message, folder) holds
        repository.add_entries(uow.connection, message_id, [BOB], Folder.INBOX, 0.0)
        uow.commit()

    assert world.mailbox_count(BOB) == 1
    with world.engine.connect() as conn:
        assert len(list_entries(conn, MailboxQuery(BOB)).entries) == 1


def test_concurrent_submissions_share_a_commit_and_each_counts_once(world: World) -> None:
    group = GroupCommit()
    transactions: list[UnitOfWork] = []

    def new_uow() -> UnitOfWork:
        transactions.append(world.uow())
        return transactions[-1]

    def commit(work: Any) -> Any:
        return group.commit(work, new_uow=new_uow)

    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(
        submit(world.command(), uow=world.uow(), commit=commit, **world.deps()).body["id"])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(answers)) == 8 and world.mailbox_count(BOB) == 8
    assert len(world.events(events.DELIVERED)) == 8 and 1 <= len(transactions) <= 8


def test_a_failing_submission_of_a_group_fails_alone(world: World) -> None:
    group = GroupCommit()
    key = Idempotency(scope="8" + RPPS["alice"], key="k-group", fingerprint="f")
    world.submit(idempotency=key)
    first = world.command()

    def duplicate(uow: UnitOfWork) -> None:  # a write that breaks the shared transaction
        uow.connection.execute(sa.text("INSERT INTO idempotency_keys SELECT * FROM idempotency_keys"))

    started, results = threading.Event(), {}

    def slow(uow: UnitOfWork) -> str:
        started.wait(5)
        return "slow"

    def run(name: str, work: Any) -> None:
        try:
            results[name] = group.commit(work, new_uow=world.uow)
        except Exception as exc:  # noqa: BLE001
            results[name] = exc

    leader = threading.Thread(target=run, args=("slow", slow))
    leader.start()
    others = [threading.Thread(target=run, args=("bad", duplicate)),
              threading.Thread(target=lambda: results.__setitem__(
                  "good", submit(first, uow=world.uow(), commit=lambda w: group.commit(w, new_uow=world.uow),
                                 **world.deps()).body["id"]))]
    for thread in others:
        thread.start()
    started.set()
    for thread in (leader, *others):
        thread.join()

    assert results["slow"] == "slow"
    assert isinstance(results["bad"], sa.exc.IntegrityError)
    assert isinstance(results["good"], str) and world.mailbox_count(BOB) == 2


def test_work_interrupted_while_committing_fails_every_waiting_submission(world: World) -> None:
    group = GroupCommit()

    class Stop(BaseException):
        pass

    def interrupted(uow: UnitOfWork) -> None:
        raise Stop

    with pytest.raises(Stop):
        group.commit(interrupted, new_uow=world.uow)
    assert group.commit(lambda uow: "next", new_uow=world.uow) == "next"
