"""Answers of the directory's RPC contract (schemas/rpc/directory.json), read from the tables."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.directory.adapters import certificate_store, search_query
from services.directory.adapters.tables import mailbox, mailbox_owner
from services.directory.domain.enrolment import display_name
from services.directory.domain.views import CertificateView, PractitionerView
from services.shared.identifiers import rpps_of

_FINESS_TYPES = frozenset({"1", "FINESS", "FINEG", "FINEJ"})


def professional(view: PractitionerView) -> dict[str, Any]:
    return {"rpps": view.rpps or "", "idnps": view.idnps, "family": view.family, "given": view.given,
            "profession_code": view.profession or None, "specialty_code": view.specialty or None,
            "active": view.active, "mailboxes": list(view.mailboxes)}


def resolved_mailboxes(connection: sa.Connection, addresses: Sequence[str], now: datetime) -> dict[str, Any]:
    """ResolvedMailbox by lower-case address, for those that exist."""
    wanted = sorted({address.lower() for address in addresses})
    rows = connection.execute(sa.select(mailbox.c.address, mailbox.c.type, mailbox.c.active,
                                        mailbox.c.structure_id_type, mailbox.c.structure_id)
                              .where(mailbox.c.address.in_(wanted))).mappings().all()
    owners = _owners(connection, wanted)
    people = {view.idnps: view for view in search_query.practitioners(
        connection, (idnps for found in owners.values() for idnps in found))}
    by_mailbox, by_owner = certificate_store.usable(
        connection, mailboxes=wanted, owners=[o[0] for o in owners.values() if len(o) == 1], now=now)
    resolved = {}
    for row in rows:
        mine = owners.get(row["address"], [])
        certificate = by_mailbox.get(row["address"]) or (by_owner.get(mine[0]) if len(mine) == 1 else None)
        resolved[row["address"]] = _resolved(row, [_owner(idnps, people.get(idnps)) for idnps in mine], certificate)
    return resolved


def _owners(connection: sa.Connection, addresses: list[str]) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    statement = (sa.select(mailbox_owner.c.address, mailbox_owner.c.owner_idnps)
                 .where(mailbox_owner.c.address.in_(addresses), mailbox_owner.c.active)
                 .order_by(mailbox_owner.c.address, mailbox_owner.c.owner_idnps))
    for address, owner in connection.execute(statement):
        owners.setdefault(address, []).append(owner)
    return owners


def _owner(idnps: str, view: PractitionerView | None) -> dict[str, str] | None:
    """The contract names owners by RPPS: an ADELI-only owner is left out."""
    rpps = rpps_of(idnps)
    if rpps is None:
        return None
    owner = {"rpps": rpps, "idnps": idnps}
    if view is not None:
        owner["display_name"] = display_name(view.title, view.civility, view.given, view.family)
    return owner


def _resolved(row: Any, owners: list[dict[str, str] | None], certificate: CertificateView | None) -> dict[str, Any]:
    finess = row["structure_id"] if row["structure_id_type"] in _FINESS_TYPES and row["structure_id"] else None
    if finess and len(finess) == 10 and finess.startswith("1"):
        finess = finess[1:]  # an IDNST: 1 + FINESS
    return {
        "address": row["address"], "type": row["type"], "active": bool(row["active"]),
        "owners": [owner for owner in owners if owner is not None],
        "organisation_finess": finess,
        "certificate_pem": certificate.pem if certificate else None,
        "certificate_fingerprint": certificate.fingerprint if certificate else None,
    }
