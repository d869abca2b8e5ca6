"""Who is calling (a professional, an establishment or a service) and the checks on it."""
from __future__ import annotations

from dataclasses import dataclass

from services.shared.errors import Forbidden

# authenticator.py (being reworked for issue 9) still imports the checks under these names from here
from services.shared.identifiers import check_finess as parse_finess
from services.shared.identifiers import check_rpps as parse_rpps

ADMIN_ROLE = "admin"
__all__ = ["ADMIN_ROLE", "Principal", "parse_finess", "parse_rpps", "require_finess", "require_role", "require_rpps"]


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

