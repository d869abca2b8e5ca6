"""Who may do what in the directory: the rules, apart from any transport."""
from __future__ import annotations

from collections.abc import Collection

from services.directory.domain.errors import NotOwner
from services.shared.auth import ADMIN_ROLE, Principal, require_role
from services.shared.identifiers import RPPS


def require_admin(actor: Principal) -> None:
    require_role(actor, ADMIN_ROLE)


def actor_idnps(actor: Principal) -> str | None:
    """The IDNPS of a caller identified by an RPPS number (Pro Santé Connect), else None."""
    return RPPS + actor.rpps if actor.rpps else None


def require_self_or_admin(actor: Principal, rpps: str) -> None:
    """Enrolment and one's own records: the professional himself, or an administrator on his behalf."""
    if actor.is_admin or actor.rpps == rpps:
        return
    if actor.rpps is None:
        raise NotOwner("This action is reserved to the professional himself, identified by his RPPS number.")
    raise NotOwner("You may only act for yourself, not for another professional.")


def require_owner(actor: Principal, owners: Collection[str], what: str) -> None:
    """The caller must be one of ``owners`` (IDNPS) or an administrator."""
    if actor.is_admin or actor_idnps(actor) in owners:
        return
    raise NotOwner(f"Only the owners of {what} or an administrator may do this.")
