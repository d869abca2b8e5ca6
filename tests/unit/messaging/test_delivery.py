"""Delivery of submitted messages: in the submission's own transaction, once per mailbox."""
from __future__ import annotations

import functools
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from services.messaging.adapters import repository
from services.messaging.adapters.audit import verify_chain
from services.messaging.adapters.mailboxes import list_entries
from services.messaging.adapters.repository import deliveries_of
from services.messaging.adapters.tables import messages
from services.messaging.domain.commands import Idempotency, MailboxQuery
from services.messaging.domain.model import Folder
from services.messaging.handlers.group_commit import GroupCommit
from services.messaging.handlers.preparation import prepare
from services.messaging.handlers.submission import submit, write_submissions
from services.shared.contracts.messaging_events import MESSAGE_DELIVERED, MESSAGE_SUBMITTED
from services.shared.db import UnitOfWork
from services.shared.errors import Unavailable
from tests.unit.messaging.world import BOB, CAROL, RPPS, World


def test_a_committed_submission_is_in_each_inbox_and_announced(world: World) -> None:
    message_id = world.submit(cc=(CAROL,)).body["id"]

    assert world.mailbox_count(BOB) == 1 and world.mailbox_count(CAROL) == 1
    [submitted] = world.events(MESSAGE_SUBMITTED)
    [delivered] = world.events(MESSAGE_DELIVERED)
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
    transactions: list[UnitOfWork] = []
    group = GroupCommit(functools.partial(write_submissions, clock=world.clock), gather=lambda: time.sleep(0.05))

    def new_uow() -> UnitOfWork:
        transactions.append(world.uow())
        return transactions[-1]

    answers: list[str] = []

    def send() -> None:
        commit = functools.partial(group.commit, new_uow=new_uow)
        answers.append(submit(world.command(), uow=world.uow(), commit=commit, **world.deps()).body["id"])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(answers)) == 8 and world.mailbox_count(BOB) == 8
    assert len(world.events(MESSAGE_DELIVERED)) == 8 and 1 <= len(transactions) <= 8
    with world.engine.connect() as conn:
        assert verify_chain(conn) is None  # the audit records of a group chain like any others


def test_a_failing_submission_of_a_group_fails_alone(world: World) -> None:
    """Two submissions with one Idempotency-Key race into one group: one is recorded, the other replays it."""
    group = GroupCommit(functools.partial(write_submissions, clock=world.clock), gather=lambda: time.sleep(0.2))
    key = Idempotency(scope="8" + RPPS["alice"], key="k-race", fingerprint="f")
    prepared = [prepare(world.command(idempotency=key), directory=world.directory, platform=world.platform,
                        clock=world.clock) for _ in range(2)]
    prepared.append(prepare(world.command(), directory=world.directory, platform=world.platform, clock=world.clock))
    results: dict[int, Any] = {}

    def run(index: int) -> None:
        try:
            results[index] = group.commit(prepared[index], new_uow=world.uow)
        except Exception as exc:  # noqa: BLE001
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    failed = [index for index, result in results.items() if isinstance(result, sa.exc.IntegrityError)]
    assert len(failed) == 1 and failed[0] in (0, 1)
    assert isinstance(results[2], dict) and world.mailbox_count(BOB) == 2
    assert world.count(messages) == 2 and len(world.events(MESSAGE_SUBMITTED)) == 2


def test_work_interrupted_while_committing_fails_every_waiting_submission(world: World) -> None:
    group = GroupCommit()

    class Stop(BaseException):
        pass

    def interrupted(uow: UnitOfWork) -> None:
        raise Stop

    stopped = threading.Event()
    results: list[BaseException] = []

    def waiting() -> None:
        stopped.wait(5)
        try:
            group.commit(lambda uow: "never", new_uow=world.uow)
        except Unavailable as exc:
            results.append(exc)

    def gather() -> None:  # the committer waits until the other submission queued behind it
        stopped.set()
        deadline = time.monotonic() + 5
        while len(group._queue) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)

    group._gather = gather  # type: ignore[method-assign]
    other = threading.Thread(target=waiting)
    other.start()
    with pytest.raises(Stop):
        group.commit(interrupted, new_uow=world.uow)
    other.join()
    group._gather = lambda: None  # type: ignore[method-assign]

    assert len(results) == 1  # grouped with the killed commit: told to retry, not left waiting
    assert group.commit(lambda uow: "next", new_uow=world.uow) == "next"
