"""Questions other services ask the directory (schemas/rpc/directory.json), answered from a read transaction."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.directory.adapters import cpts_store, rpc_results, search_query
from services.directory.adapters.connections import Reader
from services.directory.adapters.tables import activity
from services.directory.domain.enrolment import check_postal_code
from services.directory.handlers.patients import objection_of
from services.shared import identifiers as ids
from services.shared.errors import Invalid

Clock = Callable[[], datetime]
MAX_ADDRESSES = 100
MAX_SERVING = 1000  # a postal code holds a few hundred professionals of one profession at most


def resolve_addresses(addresses: Sequence[str], *, read: Reader, clock: Clock) -> dict[str, Any]:
    """Keyed by each address as asked (matched case-blind); None for an unknown one."""
    if not isinstance(addresses, (list, tuple)) or not all(isinstance(a, str) for a in addresses):
        raise Invalid("'addresses' must be a list of mailbox addresses.", expression="addresses")
    if len(addresses) > MAX_ADDRESSES:
        raise Invalid(f"At most {MAX_ADDRESSES} addresses per call.", expression="addresses")
    with read() as connection:
        found = rpc_results.resolved_mailboxes(connection, addresses, clock())
    return {address: found.get(address.lower()) for address in addresses}


def lookup_professional(identifier: str, *, read: Reader) -> dict[str, Any] | None:
    """By RPPS (11 digits) or IDNPS (8 + RPPS, 0 + ADELI); None when nobody holds it."""
    value = str(identifier).strip()
    try:
        idnps = ids.professional_idnps(value)
    except Invalid:
        return None
    with read() as connection:
        found = search_query.practitioners(connection, [idnps])
    return rpc_results.professional(found[0]) if found else None


def exchange_objection(ins: str, *, read: Reader) -> dict[str, bool]:
    objection = objection_of(ins, read=read)
    return {"objects_to_exchange": objection.objects_to_exchange, "refuses_dmp": objection.refuses_dmp}


def cpts_members(cpts_finess: str, *, read: Reader) -> list[dict[str, Any]]:
    """The active members of a CPTS; none for an unknown CPTS."""
    finess = ids.check_finess(str(cpts_finess).strip())
    with read() as connection:
        members = cpts_store.members(connection, finess)
    return [rpc_results.professional(view) for view in members if view.active]


def professionals_serving(profession_code: str, postal_code: str, *, read: Reader) -> list[dict[str, Any]]:
    """Active professionals of a profession (TRE_G15) with an active place of practice at a postal code."""
    code = str(profession_code).strip()
    if not code or len(code) > 10:
        raise Invalid("'profession_code' must be a TRE_G15 profession code, e.g. 10.", expression="profession_code")
    place = check_postal_code(str(postal_code))
    serving = sa.select(activity.c.professional_idnps).distinct().where(
        activity.c.postal_code == place, activity.c.profession == code, activity.c.active).limit(MAX_SERVING)
    with read() as connection:
        views = search_query.practitioners(connection, connection.execute(serving).scalars())
    views.sort(key=lambda view: (view.family, view.given, view.idnps))
    return [rpc_results.professional(view) for view in views if view.active]
