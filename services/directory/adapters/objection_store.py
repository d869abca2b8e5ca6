"""Patients' objections by INS: one row per patient, replaced as a whole."""
from __future__ import annotations

import sqlalchemy as sa

from services.directory.adapters.connections import as_utc
from services.directory.adapters.tables import patient_objection
from services.directory.domain.patients import Objection


def get(connection: sa.Connection, ins: str) -> Objection | None:
    row = connection.execute(sa.select(patient_objection).where(patient_objection.c.ins == ins)).mappings().first()
    if row is None:
        return None
    return Objection(bool(row["objects_to_exchange"]), bool(row["refuses_dmp"]), as_utc(row["recorded_at"]),
                     row["recorded_by"])


def put(connection: sa.Connection, ins: str, objection: Objection) -> None:
    values = {"objects_to_exchange": objection.objects_to_exchange, "refuses_dmp": objection.refuses_dmp,
              "recorded_at": objection.recorded_at, "recorded_by": objection.recorded_by}
    changed = connection.execute(patient_objection.update().where(patient_objection.c.ins == ins).values(**values))
    if changed.rowcount == 0:
        connection.execute(patient_objection.insert().values(ins=ins, **values))
