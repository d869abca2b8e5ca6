"""Writes activity chunks in the caller's transaction, then deactivates what the extract lost."""
from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from itertools import islice

import sqlalchemy as sa

from services.directory.adapters import bulk
from services.directory.adapters.activity_records import ACTIVITIES, ORGANISATIONS, PROFESSIONALS, ActivityChunker
from services.directory.adapters.chunks import Chunk
from services.directory.adapters.known import KnownFingerprints
from services.directory.adapters.stores import Counts, counts, deactivate_orphans, lock, sorting, tuned
from services.directory.adapters.tables import activity, organisation, professional

TABLES = (professional, organisation, activity)
_LOST = "directory_lost_activity"


class ActivityStore:
    """One import; ``finish()`` completes it and counts it, ``close()`` undoes the set-up on failure.

    A first load (no activity yet) drops the secondary indexes and builds each one in a single
    sort at the end. Later imports read the fingerprints of the active activities first: lines
    that match one are neither converted nor written, and the fingerprints no line matched
    are the activities to deactivate.
    """

    def __init__(self, connection: sa.Connection, now: float) -> None:
        self._connection, self._now = connection, now
        self._stack = ExitStack()
        self._stack.enter_context(tuned(connection))
        lock(connection, TABLES)
        self._before = bulk.count_rows(connection, activity)
        first_load = self._before == 0
        self._indexes = bulk.drop_indexes(connection, TABLES) if first_load else []
        self._known = None if first_load else KnownFingerprints.load(connection, activity)
        self._writers = [(upsert.table.name, bulk.TableWriter(connection, upsert, now,
                                                              append=first_load and upsert is ACTIVITIES))
                         for upsert in (PROFESSIONALS, ORGANISATIONS, ACTIVITIES)]
        self._accepted = self._changed = 0

    def chunker(self) -> ActivityChunker:
        return ActivityChunker(self._known)

    def write(self, chunk: Chunk) -> None:
        # Keys in order: the inserts into the key indexes then walk them rather than jump about.
        chunk.records["professional"].sort()
        chunk.records["organisation"].sort()
        # Parents first, so the foreign keys of other writers' tables can rely on them.
        changed = {name: writer.write(chunk.records[name]) for name, writer in self._writers}
        self._changed += changed["activity"]
        self._accepted += chunk.accepted

    def finish(self) -> Counts:
        with self._stack:
            deactivated = self._deactivate() if self._known is not None else 0
            if self._indexes:
                with sorting(self._connection):
                    self._build_indexes()
            created = bulk.count_rows(self._connection, activity) - self._before
        changed = created if self._indexes else self._changed  # a first load appended its repeats
        return counts(accepted=self._accepted, changed=changed, created=created,
                      deactivated=deactivated, active_before=len(self._known or ()))

    def close(self) -> None:
        self._stack.close()

    def _build_indexes(self) -> None:
        """After a first load: the key index (the last line of a repeated key wins), then the others."""
        keys = [index for index in self._indexes if index.unique]
        try:
            with self._connection.begin_nested():
                bulk.create_indexes(self._connection, keys)
        except sa.exc.IntegrityError:
            self._connection.execute(activity.delete().where(activity.c.id.not_in(
                sa.select(sa.func.max(activity.c.id)).group_by(activity.c.professional_idnps, activity.c.ref))))
            bulk.create_indexes(self._connection, keys)
        bulk.create_indexes(self._connection, [index for index in self._indexes if not index.unique])

    def _deactivate(self) -> int:
        assert self._known is not None
        # An updated activity's old fingerprint is unmet too, but no row carries it any more.
        lost = _fill_temporary(self._connection, self._known.unmet())
        now = self._now
        result = self._connection.exec_driver_sql(
            f"UPDATE activity SET active = false, updated_at = {now!r} "
            f"WHERE active AND content_hash IN (SELECT content_hash FROM {_LOST})")
        self._connection.exec_driver_sql(f"DROP TABLE {_LOST}")
        if lost:
            just_lost = sa.and_(activity.c.updated_at == now, ~activity.c.active)
            deactivate_orphans(self._connection, professional, activity, ("professional_idnps", "idnps"),
                               now, just_lost)
            deactivate_orphans(self._connection, organisation, activity, ("organisation_id", "id"),
                               now, just_lost, organisation.c.source == "annuaire")
        return max(result.rowcount, 0)


def _fill_temporary(connection: sa.Connection, hashes: Iterable[int]) -> int:
    """A temporary table of ``hashes``; how many."""
    on_commit = " ON COMMIT DROP" if connection.dialect.name == "postgresql" else ""
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {_LOST} (content_hash BIGINT PRIMARY KEY){on_commit}")
    insert = f"INSERT INTO {_LOST} VALUES (%s)" if connection.dialect.name == "postgresql" else \
        f"INSERT INTO {_LOST} VALUES (?)"
    cursor, total, source = bulk.driver_cursor(connection), 0, iter(hashes)
    while batch := [(value,) for value in islice(source, 10_000)]:
        cursor.executemany(insert, batch)
        total += len(batch)
    cursor.close()
    return total
