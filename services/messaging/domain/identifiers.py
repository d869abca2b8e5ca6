"""Mailbox addresses and the patient's INS (NIR with its control key)."""
from __future__ import annotations

import re

from services.shared.errors import Invalid

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_INS = re.compile(r"[1-478]\d{4}(?:\d\d|2[AB])\d{6}\d\d")
MAX_ADDRESS = 254


def normalise_address(value: str, *, field: str) -> str:
    """The address in lower case, or Invalid naming ``field``; the address itself is not health data."""
    address = value.strip()
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        raise Invalid(f"'{field}' is not a mailbox address (name@domain).", expression=field)
    return address.lower()


def check_ins(value: str, *, field: str = "patient_ins") -> str:
    """The INS (15 characters: NIR + key) or Invalid; the message never quotes the value."""
    ins = value.strip().upper()
    if not _INS.fullmatch(ins):
        raise Invalid(
            f"'{field}' must be an INS of 15 characters: 13 for the NIR (2A/2B allowed for Corsica) "
            "and a 2-digit key.",
            expression=field,
        )
    if nir_key(ins[:13]) != int(ins[13:]):
        raise Invalid(f"'{field}' is not a valid INS: its control key does not match the NIR.", expression=field)
    return ins


def nir_key(nir: str) -> int:
    """key = 97 - (NIR mod 97), Corsica's 2A and 2B counted as 19 and 18."""
    digits = nir.replace("2A", "19").replace("2B", "18")
    return 97 - int(digits) % 97
