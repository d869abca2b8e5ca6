"""Patients' objections to exchange and to the DMP, keyed by INS (checked by ``services.shared.identifiers``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Objection:
    """What a patient refuses; no record means no objection."""

    objects_to_exchange: bool
    refuses_dmp: bool
    recorded_at: datetime | None = None
    recorded_by: str | None = None


NO_OBJECTION = Objection(objects_to_exchange=False, refuses_dmp=False)
