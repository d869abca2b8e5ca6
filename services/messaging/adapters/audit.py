"""The audit trail of reads and writes of messages: hash-chained, identifiers only, never content."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields

import sqlalchemy as sa

from services.messaging.adapters.tables import audit_events
from services.shared.db import UnitOfWork
from services.shared.db.rows import execute_rows

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    at: float
    actor: str  # rpps=…, service=…
    action: str  # message.submit, message.read-content, …
    outcome: str  # success, rejected:objection, …
    message_id: str | None = None
    mailbox: str | None = None


_FIELDS = tuple(field.name for field in fields(AuditRecord))
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # json.dumps would build one per call
_LAST_HASH = sa.select(audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
# PostgreSQL: the chain's lock, then its last hash, in one round trip (two statements of one simple query:
# the second takes its snapshot once the lock is held, so it sees the last committed link)
_LOCK_AND_LAST_HASH = ("SELECT pg_advisory_xact_lock(hashtext('messaging-audit'));"
                       " SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1")
_INSERT = audit_events.insert()  # built once: see execute_rows


def _as_dict(record: AuditRecord) -> dict[str, object]:
    """``asdict(record)`` without its deep copies: every field is a str, a float or None."""
    return {name: getattr(record, name) for name in _FIELDS}


def record_hash(prev_hash: str, record: AuditRecord) -> str:
    canonical = _CANONICAL.encode(_as_dict(record))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def append(conn: sa.Connection, record: AuditRecord) -> None:
    """Chain the record to the last one; on PostgreSQL a transaction lock keeps the chain linear."""
    append_many(conn, [record])


def append_many(conn: sa.Connection, records: Sequence[AuditRecord]) -> None:
    """Chain the records, in order, to the last one (one read, one insert)."""
    execute_rows(conn, _INSERT, _chained(conn, records))


def append_many_later(uow: UnitOfWork, records: Sequence[AuditRecord]) -> None:
    """As ``append_many``, the chain read (and on PostgreSQL locked) now, the rows written at the unit
    of work's next flush, with its other writes (``UnitOfWork.execute_later``)."""
    for row in _chained(uow.connection, records):
        uow.execute_later(_INSERT, row)


def _chained(conn: sa.Connection, records: Sequence[AuditRecord]) -> list[dict[str, object]]:
    """The records' rows, chained to the last one; on PostgreSQL a transaction lock keeps the chain linear."""
    if not records:
        return []
    prev = _last_hash(conn) or GENESIS
    rows = []
    for record in records:
        digest = record_hash(prev, record)
        rows.append({**_as_dict(record), "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def _last_hash(conn: sa.Connection) -> str | None:
    if conn.dialect.name != "postgresql":
        return conn.scalar(_LAST_HASH)
    result = conn.exec_driver_sql(_LOCK_AND_LAST_HASH)
    try:
        cursor = result.cursor
        if cursor is None or not cursor.nextset():
            raise RuntimeError("the audit chain's lock and last hash answered one result, not two")
        row = cursor.fetchone()
    finally:
        result.close()
    return None if row is None else str(row[0])


def verify_chain(conn: sa.Connection) -> int | None:
    """The seq of the first record that does not chain to its predecessor, or None when intact."""
    prev = GENESIS
    for row in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).mappings():
        record = AuditRecord(row["at"], row["actor"], row["action"], row["outcome"], row["message_id"], row["mailbox"])
        if row["prev_hash"] != prev or row["hash"] != record_hash(prev, record):
            return int(row["seq"])
        prev = row["hash"]
    return None
