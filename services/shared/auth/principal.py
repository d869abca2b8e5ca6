"""Who is calling (a professional, an establishment or a service) and the checks on it."""
from __future__ import annotations

import re
from dataclasses import dataclass

from services.shared.errors import Forbidden, Invalid

ADMIN_ROLE = "admin"
_RPPS = re.compile(r"\d{11}")
_FINESS = re.compile(r"[0-9A-Za-z]{9}")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; ``rpps``, ``finess`` and ``service`` say who it acts as."""

    subject: str
    rpps: str | None = None
    finess: str | None = None
    roles: frozenset[str] = frozenset()
    service: str | None = None
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles

    @property
    def has_identity(self) -> bool:
        """True when the caller can be tied to a directory entry, a service or an admin."""
        return bool(self.rpps or self.finess or self.service or self.is_admin)


def require_role(principal: Principal, role: str) -> None:
    # No admin bypass: admin is a role like any other, so it must be granted explicitly.
    if role not in principal.roles:
        raise Forbidden(f"This action requires the role '{role}'.")


def require_rpps(principal: Principal, rpps: str) -> None:
    """The caller must be the professional identified by ``rpps`` (their own mailbox, their document)."""
    if principal.rpps is None:
        raise Forbidden("This action is reserved to a health professional identified by an RPPS number.")
    if principal.rpps != rpps:
        raise Forbidden("You may only act on your own behalf, not for another professional.")


def require_finess(principal: Principal, finess: str) -> None:
    """The caller must act for the establishment identified by ``finess``."""
    if principal.finess is None:
        raise Forbidden("This action is reserved to an establishment identified by a FINESS number.")
    if principal.finess.upper() != finess.upper():
        raise Forbidden("You may only act for your own establishment, not for another FINESS.")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def parse_rpps(value: str) -> str:
    """Return ``value`` if it is an RPPS number (11 digits, Luhn check digit), else raise Invalid."""
    if not _RPPS.fullmatch(value):
        raise Invalid(f"An RPPS number has 11 digits; {value!r} does not.", expression="rpps")
    if not luhn_valid(value):
        raise Invalid(f"{value!r} is not a valid RPPS number: its check digit is wrong.", expression="rpps")
    return value


def parse_finess(value: str) -> str:
    """Return ``value`` upper-cased if it is a FINESS number (9 letters or digits), else raise Invalid."""
    if not _FINESS.fullmatch(value):
        raise Invalid(f"A FINESS number has 9 letters or digits; {value!r} does not.", expression="finess")
    return value.upper()
