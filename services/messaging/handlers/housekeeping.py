"""Retention: purge messages deleted longer ago than the restore period, and expired idempotency keys."""
from __future__ import annotations

from datetime import timedelta

from services.messaging.adapters import idempotency, repository
from services.messaging.ports import Clock
from services.shared.db import UnitOfWork


def sweep(*, uow: UnitOfWork, clock: Clock, retention: timedelta, keys_for: timedelta) -> int:
    now = clock()
    with uow:
        purged = repository.purge(uow.connection, (now - retention).timestamp())
        _expire(uow, (now - keys_for).timestamp())
        uow.commit()
    return purged


def _expire(uow: UnitOfWork, before: float) -> None:
    idempotency.expire(uow.connection, before)
