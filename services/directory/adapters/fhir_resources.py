"""Read models as FHIR R4 resources shaped after FR Core and the Annuaire Santé public profiles."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from services.directory.adapters.fhir_codes import (
    AS_PROFILE,
    FR_CORE_PROFILE,
    coding,
    identifier,
    mailbox_telecom,
    phones,
)
from services.directory.adapters.search_filters import KIND_SYSTEM, ROLE_SYSTEM
from services.directory.domain.codes import (
    PROFESSION_SYSTEM,
    SECTOR_SYSTEM,
    SECTORS,
    SPECIALTY_SYSTEM,
    profession_label,
    specialty_label,
)
from services.directory.domain.model import Address
from services.directory.domain.views import OrganisationView, PractitionerView, RoleView
from services.shared import identifiers as ids

MODE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R23-ModeExercice/FHIR/TRE-R23-ModeExercice"
MODES = {"L": "Libéral", "S": "Salarié", "B": "Bénévole"}
_PREFIXES = {"DR": "Dr", "PR": "Pr", "M": "M.", "MME": "Mme"}


def role_id(idnps: str, ref: str) -> str:
    """A stable FHIR id for an activity: its professional's IDNPS and a digest of its reference."""
    return f"{idnps}-{hashlib.sha256(ref.encode()).hexdigest()[:12]}"


def _meta(resource: str, updated_at: float) -> dict[str, Any]:
    moment = datetime.fromtimestamp(updated_at, UTC) if updated_at else datetime.now(UTC)
    return {"lastUpdated": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "profile": [FR_CORE_PROFILE[resource], AS_PROFILE[resource]]}


def practitioner(view: PractitionerView) -> dict[str, Any]:
    idents = [identifier("IDNPS", ids.IDNPS_SYSTEM, view.idnps)]
    if view.rpps:
        idents.append(identifier("RPPS", ids.RPPS_SYSTEM, view.rpps))
    name: dict[str, Any] = {"use": "official", "family": view.family, "given": [view.given]}
    prefix = _PREFIXES.get(view.title) or _PREFIXES.get(view.civility)
    if prefix:
        name["prefix"] = [prefix]
    resource: dict[str, Any] = {"resourceType": "Practitioner", "id": view.idnps,
                                "meta": _meta("Practitioner", view.updated_at), "identifier": idents,
                                "active": view.active, "name": [name]}
    if view.mailboxes:
        resource["telecom"] = [mailbox_telecom(address) for address in view.mailboxes]
    qualifications = [
        {"code": {"coding": [coding(system, code, label)]}}
        for system, code, label in ((PROFESSION_SYSTEM, view.profession, view.profession_label),
                                    (SPECIALTY_SYSTEM, view.specialty, view.specialty_label)) if code]
    if qualifications:
        resource["qualification"] = qualifications
    return resource


def practitioner_role(view: RoleView) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "PractitionerRole", "id": role_id(view.idnps, view.ref),
                                "meta": _meta("PractitionerRole", view.updated_at), "active": view.active,
                                "practitioner": {"reference": f"Practitioner/{view.idnps}"}}
    if view.organisation_id:
        resource["organization"] = {"reference": f"Organization/{view.organisation_id}"}
    codes = [coding(system, code, label) for system, code, label in (
        (PROFESSION_SYSTEM, view.profession, profession_label(view.profession)),
        (ROLE_SYSTEM, view.role, None), (MODE_SYSTEM, view.mode, MODES.get(view.mode))) if code]
    if codes:
        resource["code"] = [{"coding": [each]} for each in codes]
    if view.specialty:
        label = view.specialty_label or specialty_label(view.specialty)
        resource["specialty"] = [{"coding": [coding(SPECIALTY_SYSTEM, view.specialty, label)]}]
    if view.address.postal_code or view.address.city or view.address.lines:
        resource["contained"] = [{"resourceType": "Location", "id": "site", "address": address(view.address)}]
        resource["location"] = [{"reference": "#site"}]
    telecom = phones(view.phones, view.fax, view.email) + [mailbox_telecom(a) for a in view.mailboxes]
    if telecom:
        resource["telecom"] = telecom
    return resource


def organization(view: OrganisationView) -> dict[str, Any]:
    idents = []
    if view.finess:
        idents += [identifier("FINEG", ids.FINESS_SYSTEM, view.finess),
                   identifier("IDNST", ids.IDNST_SYSTEM, "1" + view.finess)]
    if view.siret:
        idents += [identifier("SIRET", ids.SIRET_SYSTEM, view.siret)]
        idents += [] if view.finess else [identifier("IDNST", ids.IDNST_SYSTEM, "3" + view.siret)]
    types = [{"coding": [coding(KIND_SYSTEM, view.kind, None)]}]
    if view.sector:
        types.append({"coding": [coding(SECTOR_SYSTEM, view.sector, SECTORS.get(view.sector))]})
    resource: dict[str, Any] = {"resourceType": "Organization", "id": view.id,
                                "meta": _meta("Organization", view.updated_at), "identifier": idents,
                                "active": view.active, "type": types, "name": view.name}
    if view.trade_name and view.trade_name != view.name:
        resource["alias"] = [view.trade_name]
    if view.address.postal_code or view.address.city:
        resource["address"] = [address(view.address)]
    if view.legal_finess and view.legal_finess != view.finess:
        resource["partOf"] = {"type": "Organization",
                              "identifier": identifier("FINEJ", ids.FINESS_SYSTEM, view.legal_finess)}
    return resource


def address(place: Address) -> dict[str, Any]:
    out: dict[str, Any] = {"use": "work"}
    if place.lines:
        out["line"] = list(place.lines)
    for key, value in (("city", place.city), ("postalCode", place.postal_code), ("country", place.country)):
        if value:
            out[key] = value
    return out


def resource_of(view: PractitionerView | RoleView | OrganisationView) -> dict[str, Any]:
    if isinstance(view, PractitionerView):
        return practitioner(view)
    if isinstance(view, RoleView):
        return practitioner_role(view)
    return organization(view)
