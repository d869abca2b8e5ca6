"""Rows of the directory's tables as the read models of domain/views.py."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import RowMapping

from services.directory.adapters.tables import activity, organisation, professional
from services.directory.domain.model import Address
from services.directory.domain.views import OrganisationView, PractitionerView, RoleView

_FRANCE = frozenset({"", "99000", "99100", "FR", "FRA"})  # the extract's country codes for France
PRACTITIONER_COLUMNS = tuple(professional.c[name] for name in (
    "idnps", "id_type", "identifier", "family", "given", "title", "civility", "profession",
    "profession_label", "specialty", "specialty_label", "active", "updated_at"))
ROLE_COLUMNS = tuple(activity.c[name] for name in (
    "professional_idnps", "ref", "organisation_id", "profession", "specialty", "specialty_label", "mode",
    "role", "sector", "recipient_extra", "place_extra", "street_number", "street_number_suffix",
    "street_type_label", "street_name", "distribution", "postal_code", "commune_code", "city", "country",
    "phone", "phone2", "fax", "email", "active", "updated_at"))
ORGANISATION_COLUMNS = tuple(organisation.c[name] for name in (
    "id", "name", "kind", "finess", "legal_finess", "siret", "siren", "trade_name", "sector",
    "postal_code", "commune_code", "city", "active", "updated_at"))


def _s(row: RowMapping, name: str) -> str:
    return str(row[name] or "")


def practitioner(row: RowMapping, mailboxes: Sequence[str] = ()) -> PractitionerView:
    return PractitionerView(
        idnps=row["idnps"], id_type=row["id_type"], identifier=row["identifier"], family=row["family"],
        given=row["given"], title=_s(row, "title"), civility=_s(row, "civility"), profession=_s(row, "profession"),
        profession_label=_s(row, "profession_label"), specialty=_s(row, "specialty"),
        specialty_label=_s(row, "specialty_label"), active=bool(row["active"]), updated_at=row["updated_at"],
        mailboxes=tuple(mailboxes))


def role(row: RowMapping, mailboxes: Sequence[str] = ()) -> RoleView:
    street = " ".join(part for part in (_s(row, "street_number") + _s(row, "street_number_suffix"),
                                        _s(row, "street_type_label"), _s(row, "street_name")) if part)
    lines = tuple(line for line in (_s(row, "recipient_extra"), _s(row, "place_extra"), street,
                                    _s(row, "distribution")) if line)
    country = "FR" if _s(row, "country") in _FRANCE else ""
    address = Address(lines, _s(row, "postal_code"), _s(row, "commune_code"), _s(row, "city"), country)
    return RoleView(
        row["professional_idnps"], row["ref"], row["organisation_id"], _s(row, "profession"),
        _s(row, "specialty"), _s(row, "specialty_label"), _s(row, "mode"), _s(row, "role"), _s(row, "sector"),
        address, tuple(p for p in (_s(row, "phone"), _s(row, "phone2")) if p), _s(row, "fax"),
        _s(row, "email"), bool(row["active"]), row["updated_at"], tuple(mailboxes))


def organisation_view(row: RowMapping) -> OrganisationView:
    address = Address((), _s(row, "postal_code"), _s(row, "commune_code"), _s(row, "city"))
    return OrganisationView(
        id=row["id"], name=row["name"], kind=row["kind"], finess=_s(row, "finess"),
        legal_finess=_s(row, "legal_finess"), siret=_s(row, "siret"), siren=_s(row, "siren"),
        trade_name=_s(row, "trade_name"), sector=_s(row, "sector"), address=address, active=bool(row["active"]),
        updated_at=row["updated_at"])
