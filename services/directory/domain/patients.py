"""Patients' objections to exchange and to the DMP, keyed by INS (the NIR and its key)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.shared.errors import Invalid

_CORSICA = {"2A": "19", "2B": "18"}  # replaced before the modulo, as python-stdnum's fr.nir does


def check_ins(value: str) -> str:
    """The INS (15 characters: 13-character NIR + 2-digit key), upper case, or ``Invalid``.

    Messages never quote the value: an INS is health data.
    """
    ins = value.replace(" ", "").upper()
    if len(ins) != 15:
        raise Invalid("An INS has 15 characters: the 13-character NIR and its 2-digit key.", expression="ins")
    nir, key = ins[:13], ins[13:]
    digits = nir[:5] + _CORSICA.get(nir[5:7], nir[5:7]) + nir[7:]
    if not (digits.isdigit() and key.isdigit()):
        raise Invalid("An INS is made of digits (2A or 2B for a birth in Corsica).", expression="ins")
    if 97 - int(digits) % 97 != int(key):
        raise Invalid("The INS fails its check key.", expression="ins")
    return ins


@dataclass(frozen=True, slots=True)
class Objection:
    """What a patient refuses; no record means no objection."""

    objects_to_exchange: bool
    refuses_dmp: bool
    recorded_at: datetime | None = None
    recorded_by: str | None = None


NO_OBJECTION = Objection(objects_to_exchange=False, refuses_dmp=False)
