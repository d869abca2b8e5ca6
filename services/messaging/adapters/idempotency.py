"""Stored answers to submissions made with an Idempotency-Key, so a retry gets the same answer."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from services.messaging.adapters.tables import idempotency_keys
from services.messaging.domain.commands import Idempotency
from services.shared.db import UnitOfWork
from services.shared.db.rows import execute_rows


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int
    body: dict[str, Any]


_INSERT = idempotency_keys.insert()  # built once: see execute_rows


def find(conn: sa.Connection, key: Idempotency) -> StoredAnswer | None:
    row = conn.execute(
        sa.select(idempotency_keys.c.fingerprint, idempotency_keys.c.status, idempotency_keys.c.response)
        .where(idempotency_keys.c.scope == key.scope, idempotency_keys.c.key == key.key)
    ).first()
    return None if row is None else StoredAnswer(row.fingerprint, row.status, json.loads(row.response))


def row(key: Idempotency, message_id: str, status: int, body: dict[str, Any], at: float) -> dict[str, Any]:
    return {"scope": key.scope, "key": key.key, "fingerprint": key.fingerprint, "message_id": message_id,
            "status": status, "response": json.dumps(body, separators=(",", ":")).encode(), "created_at": at}


def save(conn: sa.Connection, key: Idempotency, message_id: str, status: int, body: dict[str, Any], at: float) -> None:
    """Raises IntegrityError when a concurrent request with the same key committed first."""
    save_rows(conn, [row(key, message_id, status, body, at)])


def save_rows(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Rows of ``row``; IntegrityError when a key was already taken."""
    execute_rows(conn, _INSERT, rows)


def save_rows_later(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """As ``save_rows``, written at the unit of work's next flush (its IntegrityError then)."""
    for key_row in rows:
        uow.execute_later(_INSERT, key_row)


def expire(conn: sa.Connection, before: float) -> int:
    return int(conn.execute(idempotency_keys.delete().where(idempotency_keys.c.created_at < before)).rowcount or 0)
