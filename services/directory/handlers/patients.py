"""Patients' objections to exchange between professionals and to the DMP (administrators record them)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.directory.adapters import objection_store
from services.directory.adapters.connections import Reader
from services.directory.domain.access import require_admin
from services.directory.domain.patients import NO_OBJECTION, Objection
from services.shared.auth import Principal
from services.shared.db import UnitOfWork
from services.shared.identifiers import check_ins
from services.shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger(__name__)


def record_objection(ins: str, objects_to_exchange: bool, refuses_dmp: bool, *, uow: UnitOfWork,
                     actor: Principal, clock: Clock) -> Objection:
    require_admin(actor)
    key = check_ins(ins, "ins")
    objection = Objection(objects_to_exchange, refuses_dmp, clock(), actor.subject)
    with uow:
        objection_store.put(uow.connection, key, objection)
        uow.commit()
    log.info("patient objection recorded")  # never the INS
    return objection


def objection_of(ins: str, *, read: Reader) -> Objection:
    """What the patient objects to; no record (or an INS that cannot be one) means no objection."""
    key = check_ins(ins, "ins")
    with read() as connection:
        return objection_store.get(connection, key) or NO_OBJECTION


def read_objection(ins: str, *, read: Reader, actor: Principal) -> Objection:
    require_admin(actor)
    return objection_of(ins, read=read)
