"""Synthetic professionals: unique Luhn-valid RPPS (ADELI for a few professions), real codes."""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from services.directory.synth_data import COMMUNES, FAMILY_NAMES, GIVEN_NAMES_F, GIVEN_NAMES_M
from services.shared.identifiers import ADELI, RPPS, luhn_check_digit

# (TRE_G15 profession, weight, share practising as salaried staff)
_PROFESSIONS = (("10", 30, 0.45), ("60", 25, 0.6), ("70", 12, 0.15), ("21", 12, 0.3),
                ("40", 7, 0.1), ("50", 4, 0.5), ("91", 3, 0.1), ("80", 2, 0.05), ("92", 1, 0.2),
                ("28", 2, 0.3), ("26", 1, 0.3), ("94", 1, 0.6), ("96", 1, 0.5))
# Professions still registered by ADELI number rather than RPPS.
_ADELI_PROFESSIONS = frozenset({"26", "28", "94", "96"})
_GP = (("SM53", 40), ("SM54", 10), ("SM26", 5))
_OTHER_SPECIALTIES = ("SM02", "SM04", "SM15", "SM18", "SM20", "SM32", "SM38", "SM40", "SM41",
                      "SM42", "SM48")
# A multiplier prime to 10**9 spreads sequential numbers over the whole range, still unique.
_SPREAD = 387_420_489


@dataclass(frozen=True, slots=True)
class Person:
    id_type: str
    identifier: str
    title: str
    civility: str
    family: str
    given: str
    profession: str
    specialty: str
    salaried_share: float
    commune: int  # index into COMMUNES: where this person mostly practises


def people(rng: random.Random) -> Iterator[Person]:
    """An endless stream of distinct professionals."""
    codes = [code for code, _, _ in _PROFESSIONS]
    weights = [weight for _, weight, _ in _PROFESSIONS]
    salaried = {code: share for code, _, share in _PROFESSIONS}
    adeli_counters: dict[tuple[str, str], int] = {}
    for number in range(10**9):
        profession = rng.choices(codes, weights)[0]
        commune = rng.randrange(len(COMMUNES))
        id_type, identifier = _identifier(number, profession, commune, adeli_counters)
        woman = rng.random() < 0.55
        yield Person(
            id_type=id_type, identifier=identifier,
            title="DR" if profession in ("10", "40") else "",
            civility="MME" if woman else "M",
            family=rng.choice(FAMILY_NAMES),
            given=rng.choice(GIVEN_NAMES_F if woman else GIVEN_NAMES_M),
            profession=profession, specialty=_specialty(rng, profession),
            salaried_share=salaried[profession], commune=commune,
        )


def _identifier(number: int, profession: str, commune: int,
                counters: dict[tuple[str, str], int]) -> tuple[str, str]:
    department = COMMUNES[commune][0][:2]
    if profession in _ADELI_PROFESSIONS and department.isdigit() and department != "97":
        # ADELI: department, profession, a 4-digit sequence, then a check digit.
        sequence = counters.get((department, profession), 0) + 1
        if sequence < 10_000:
            counters[(department, profession)] = sequence
            body = f"{department}{profession}{sequence:04d}"
            return ADELI, body + luhn_check_digit(body)
    body = f"1{(number * _SPREAD + 100_271_385) % 10**9:09d}"
    return RPPS, body + luhn_check_digit(body)


def _specialty(rng: random.Random, profession: str) -> str:
    if profession == "10":
        if rng.random() < 0.55:
            return rng.choices([code for code, _ in _GP], [weight for _, weight in _GP])[0]
        return rng.choice(_OTHER_SPECIALTIES)
    if profession == "40" and rng.random() < 0.05:
        return "SCD01"
    return ""
