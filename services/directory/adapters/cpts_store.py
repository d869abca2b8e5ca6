"""CPTS in the directory: an organisation row, its territory and its members."""
from __future__ import annotations

import sqlalchemy as sa

from services.directory.adapters import search_query
from services.directory.adapters.tables import cpts_member, cpts_territory, organisation
from services.directory.domain.codes import OrganisationKind
from services.directory.domain.model import Cpts
from services.directory.domain.names import normalise
from services.directory.domain.views import PractitionerView

CREATED_HERE = "enrolment"  # organisation.source of rows made on the platform; imports leave them alone


def organisation_by_finess(connection: sa.Connection, finess: str) -> sa.RowMapping | None:
    return connection.execute(sa.select(organisation.c.id, organisation.c.name).where(
        organisation.c.finess == finess).order_by(organisation.c.id)).mappings().first()


def create_organisation(connection: sa.Connection, cpts: Cpts, finess: str, now: float) -> None:
    connection.execute(organisation.insert().values(
        id=cpts.organisation, kind=OrganisationKind.CPTS.value, name=cpts.name, name_norm=normalise(cpts.name),
        source=CREATED_HERE, finess=finess, active=True, content_hash=0, updated_at=now))


def has_territory(connection: sa.Connection, organisation_id: str) -> bool:
    found = connection.execute(sa.select(cpts_territory.c.code).where(cpts_territory.c.cpts_id == organisation_id))
    return found.first() is not None


def set_territory(connection: sa.Connection, cpts: Cpts) -> None:
    rows = [{"cpts_id": cpts.organisation, "kind": "commune", "code": code} for code in sorted(cpts.communes)]
    rows += [{"cpts_id": cpts.organisation, "kind": "postal_code", "code": code} for code in sorted(cpts.postal_codes)]
    connection.execute(cpts_territory.insert(), rows)


def load(connection: sa.Connection, finess: str) -> Cpts | None:
    found = organisation_by_finess(connection, finess)
    if found is None or not has_territory(connection, found["id"]):
        return None
    territory = connection.execute(sa.select(cpts_territory.c.kind, cpts_territory.c.code).where(
        cpts_territory.c.cpts_id == found["id"])).all()
    members = connection.execute(sa.select(cpts_member.c.professional_idnps).where(
        cpts_member.c.cpts_id == found["id"], cpts_member.c.active)).scalars()
    return Cpts(found["id"], found["name"], frozenset(code for kind, code in territory if kind == "commune"),
                frozenset(code for kind, code in territory if kind == "postal_code"), frozenset(members))


def set_member(connection: sa.Connection, cpts_id: str, idnps: str, active: bool, now: float) -> bool:
    """Add, reactivate or deactivate a member; True when something changed."""
    key = sa.and_(cpts_member.c.cpts_id == cpts_id, cpts_member.c.professional_idnps == idnps)
    current = connection.execute(sa.select(cpts_member.c.active).where(key)).scalar()
    if current is None:
        if not active:
            return False
        connection.execute(cpts_member.insert().values(cpts_id=cpts_id, professional_idnps=idnps, active=True,
                                                       joined_at=now))
        return True
    if bool(current) == active:
        return False
    connection.execute(cpts_member.update().where(key).values(active=active, **({"joined_at": now} if active else {})))
    return True


def members(connection: sa.Connection, finess: str) -> list[PractitionerView]:
    cpts = load(connection, finess)
    return search_query.practitioners(connection, cpts.members) if cpts is not None else []
