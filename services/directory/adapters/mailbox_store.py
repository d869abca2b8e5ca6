"""Writes mailbox chunks in the caller's transaction, then deactivates what the extract lost.

The national extract owns the mailboxes it lists, not the ones professionals declared with the
regional enrolment form: an enrolled mailbox and its owner link are never deactivated by an import,
whether the extract never listed them or listed them once and no longer does.
"""
from __future__ import annotations

from contextlib import ExitStack

import sqlalchemy as sa

from services.directory.adapters import bulk
from services.directory.adapters.chunks import Chunk
from services.directory.adapters.mailbox_records import MAILBOXES, MailboxChunker
from services.directory.adapters.stores import Counts, count_active, counts, lock, tuned
from services.directory.adapters.tables import mailbox, mailbox_owner

# Rows the enrolment form created or claimed (enrolment.mailbox is stored in lower case, as mailbox.address).
_ENROLLED_MAILBOX = "mailbox.address IN (SELECT e.mailbox FROM enrolment e)"
_ENROLLED_OWNER = ("EXISTS (SELECT 1 FROM enrolment e WHERE e.mailbox = mailbox_owner.address "
                   "AND e.idnps = mailbox_owner.owner_idnps)")


class MailboxStore:
    """One import; ``finish()`` completes it and counts it, ``close()`` undoes the set-up on failure."""

    def __init__(self, connection: sa.Connection, now: float) -> None:
        self._connection, self._now = connection, now
        self._stack = ExitStack()
        self._stack.enter_context(tuned(connection))
        lock(connection, (mailbox, mailbox_owner))
        self._before = bulk.count_rows(connection, mailbox)
        self._active_before = count_active(connection, mailbox)
        self._mailboxes = bulk.TableWriter(connection, MAILBOXES, now)
        self._seen = bulk.SeenKeys(connection, "directory_seen_mailbox", ("address",))
        self._seen_owners = bulk.SeenKeys(connection, "directory_seen_owner", ("address", "owner_idnps"))
        # An owner link carries no data: insert it, or reactivate it.
        self._owner_sql = sa.text(
            "INSERT INTO mailbox_owner (address, owner_idnps, active, updated_at) "
            f"VALUES (:a, :o, true, {now!r}) ON CONFLICT (address, owner_idnps) DO UPDATE "
            "SET active = true, updated_at = excluded.updated_at WHERE NOT mailbox_owner.active")
        self._accepted = self._changed = 0

    def chunker(self) -> MailboxChunker:
        return MailboxChunker()

    def write(self, chunk: Chunk) -> None:
        records, owners = chunk.records["mailbox"], chunk.records["owner"]
        self._changed += self._mailboxes.write(records)
        self._accepted += chunk.accepted
        self._seen.add([record[:1] for record in records])
        if owners:
            self._connection.execute(self._owner_sql, [{"a": a, "o": o} for a, o in owners])
            self._seen_owners.add(owners)

    def finish(self) -> Counts:
        with self._stack:
            self._seen_owners.deactivate_unseen(mailbox_owner, self._now, spare=_ENROLLED_OWNER)
            lost = self._seen.deactivate_unseen(mailbox, self._now, spare=_ENROLLED_MAILBOX)
            created = bulk.count_rows(self._connection, mailbox) - self._before
        return counts(accepted=self._accepted, changed=self._changed, created=created, deactivated=lost,
                      active_before=self._active_before)

    def close(self) -> None:
        self._stack.close()
