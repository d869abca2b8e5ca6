"""Hypothesis strategies for the string formats the OpenAPI document names (services/shared/web/capabilities.py),
registered with Schemathesis: a pattern cannot carry a check key, so valid RPPS numbers (Luhn) and INS (97 - NIR
mod 97) are built here. Importing this module registers them (also usable as SCHEMATHESIS_HOOKS for the CLI)."""
from __future__ import annotations

import re

import schemathesis
from hypothesis import strategies as st

from services.shared.web.capabilities import MAIL_ADDRESS

_DIGITS = "0123456789"


# The check keys are computed here, independently of the code under test.
def _with_luhn(body: str) -> str:
    """``body`` and the digit that makes the whole pass the Luhn check."""
    def total(digits: str) -> int:
        return sum(int(d) if i % 2 == 0 else sum(divmod(int(d) * 2, 10)) for i, d in enumerate(reversed(digits)))
    return next(body + digit for digit in _DIGITS if total(body + digit) % 10 == 0)


def nir_key(nir: str) -> int:
    """97 - (NIR mod 97), Corsica's 2A and 2B counted as 19 and 18."""
    return 97 - int(nir[:5] + {"2A": "19", "2B": "18"}.get(nir[5:7], nir[5:7]) + nir[7:]) % 97


rpps = st.text(_DIGITS, min_size=10, max_size=10).map(_with_luhn)
adeli = st.text(_DIGITS, min_size=9, max_size=9)
idnps = st.one_of(rpps, rpps.map(lambda number: "8" + number), adeli.map(lambda number: "0" + number))


@st.composite
def ins(draw: st.DrawFn) -> str:
    department = draw(st.one_of(st.text(_DIGITS, min_size=2, max_size=2), st.sampled_from(["2A", "2B"])))
    nir = (draw(st.sampled_from("12478")) + draw(st.text(_DIGITS, min_size=4, max_size=4)) + department
           + draw(st.text(_DIGITS, min_size=6, max_size=6)))
    return f"{nir}{nir_key(nir):02d}"


mailbox_address = st.from_regex(re.compile(MAIL_ADDRESS["pattern"]), fullmatch=True).filter(
    lambda address: len(address) <= MAIL_ADDRESS["maxLength"])

FORMATS = {"rpps": rpps, "idnps": idnps, "ins": ins(), "mailbox-address": mailbox_address}
for _name, _strategy in FORMATS.items():
    schemathesis.openapi.format(_name, _strategy)
