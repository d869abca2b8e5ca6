"""CPTS management (administrators): create one with its territory, add and remove members."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime

from services.directory.adapters import cpts_store, enrolment_store
from services.directory.adapters.connections import Reader
from services.directory.domain.access import require_admin
from services.directory.domain.commands import CreateCpts
from services.directory.domain.enrolment import check_postal_code
from services.directory.domain.errors import UnknownResource
from services.directory.domain.model import Cpts
from services.shared.auth import Principal
from services.shared.db import UnitOfWork
from services.shared.errors import Conflict, Invalid
from services.shared.identifiers import check_finess, professional_idnps
from services.shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger(__name__)
_COMMUNE = re.compile(r"(?:\d{2}|2A|2B)\d{3}")  # INSEE commune code


def create_cpts(command: CreateCpts, *, uow: UnitOfWork, actor: Principal, clock: Clock) -> Cpts:
    """The CPTS's organisation is the imported one with this FINESS, else one created here."""
    require_admin(actor)
    finess, name = check_finess(command.finess), " ".join(command.name.split())
    if not name:
        raise Invalid("'name' must not be empty.", expression="name")
    communes, codes = _communes(command.communes), frozenset(map(check_postal_code, command.postal_codes))
    if not communes and not codes:
        raise Invalid("A CPTS needs a territory: 'communes' (INSEE codes) or 'postal_codes'.", expression="communes")
    with uow:
        found = cpts_store.organisation_by_finess(uow.connection, finess)
        cpts = Cpts(found["id"] if found else f"F{finess}", found["name"] if found else name, communes, codes)
        if found is None:
            cpts_store.create_organisation(uow.connection, cpts, finess, clock().timestamp())
        elif cpts_store.has_territory(uow.connection, cpts.organisation):
            raise Conflict("A CPTS with this FINESS number exists already.", expression="finess")
        cpts_store.set_territory(uow.connection, cpts)
        uow.commit()
    log.info("cpts created", cpts_id=cpts.organisation)
    return cpts


def _communes(values: Iterable[str]) -> frozenset[str]:
    codes = frozenset(value.strip().upper() for value in values)
    if any(not _COMMUNE.fullmatch(code) for code in codes):
        raise Invalid("Each commune is an INSEE code of five characters (2A/2B in Corsica).", expression="communes")
    return codes


def set_membership(finess: str, identifier: str, member: bool, *, uow: UnitOfWork, actor: Principal,
                   clock: Clock) -> Cpts:
    """Add (``member``) or remove a professional, by RPPS or IDNPS; doing it twice changes nothing."""
    require_admin(actor)
    idnps = professional_idnps(identifier)
    with uow:
        cpts = _existing(uow, check_finess(finess))
        if member and enrolment_store.professional_row(uow.connection, idnps) is None:
            raise UnknownResource("No professional has this identifier in the directory.", expression="rpps")
        cpts_store.set_member(uow.connection, cpts.organisation, idnps, member, clock().timestamp())
        uow.commit()
    members = cpts.members | {idnps} if member else cpts.members - {idnps}
    return Cpts(cpts.organisation, cpts.name, cpts.communes, cpts.postal_codes, members)


def _existing(uow: UnitOfWork, finess: str) -> Cpts:
    cpts = cpts_store.load(uow.connection, finess)
    if cpts is None:
        raise UnknownResource("No CPTS has this FINESS number.", expression="finess")
    return cpts


def cpts_of(finess: str, *, read: Reader) -> Cpts:
    with read() as connection:
        cpts = cpts_store.load(connection, check_finess(finess))
    if cpts is None:
        raise UnknownResource("No CPTS has this FINESS number.", expression="finess")
    return cpts
