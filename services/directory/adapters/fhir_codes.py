"""FR Core and Annuaire Santé canonical URLs, and the small FHIR datatypes every resource uses."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_FR_CORE = "https://hl7.fr/ig/fhir/core"
_ANNUAIRE = "https://interop.esante.gouv.fr/ig/fhir/annuaire"
FR_CORE_PROFILE = {
    "Practitioner": f"{_FR_CORE}/StructureDefinition/fr-core-practitioner",
    "PractitionerRole": f"{_FR_CORE}/StructureDefinition/fr-core-practitioner-role",
    "Organization": f"{_FR_CORE}/StructureDefinition/fr-core-organization",
}
AS_PROFILE = {  # the public-data ("dp", données publiques) profiles of the Annuaire Santé
    "Practitioner": f"{_ANNUAIRE}/StructureDefinition/as-dp-practitioner",
    "PractitionerRole": f"{_ANNUAIRE}/StructureDefinition/as-dp-practitionerrole",
    "Organization": f"{_ANNUAIRE}/StructureDefinition/as-dp-organization",
}
IDENTIFIER_TYPE_SYSTEM = f"{_FR_CORE}/CodeSystem/fr-core-cs-v2-0203"
IDENTIFIER_TYPES = {
    "IDNPS": "Identifiant National de Professionnel de Santé", "RPPS": "N° RPPS",
    "FINEG": "FINESS d'entité géographique", "FINEJ": "FINESS d'entité juridique",
    "SIRET": "Identification de l'organisation au SIRET",
    "IDNST": "Identification nationale de structure définie par l'ANS dans le CI_SIS",
}
EMAIL_TYPE_EXTENSION = f"{_FR_CORE}/StructureDefinition/fr-core-contact-point-email-type"
MAILBOX_TYPE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R256-TypeMessagerie/FHIR/TRE-R256-TypeMessagerie"


def coding(system: str, code: str, display: str | None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def identifier(kind: str, system: str, value: str) -> dict[str, Any]:
    return {"use": "official", "type": {"coding": [coding(IDENTIFIER_TYPE_SYSTEM, kind, IDENTIFIER_TYPES[kind])]},
            "system": system, "value": value}


def mailbox_telecom(address: str) -> dict[str, Any]:
    """An MSSanté mailbox: an e-mail contact point typed MSSANTE (the Annuaire Santé as-mailbox-mss)."""
    kind = {"url": EMAIL_TYPE_EXTENSION, "valueCoding": coding(MAILBOX_TYPE_SYSTEM, "MSSANTE", "Messageries MSSanté")}
    return {"extension": [kind], "system": "email", "value": address, "use": "work"}


def phones(numbers: Iterable[str], fax: str, email: str) -> list[dict[str, Any]]:
    out = [{"system": "phone", "value": number, "use": "work"} for number in numbers]
    if fax:
        out.append({"system": "fax", "value": fax, "use": "work"})
    if email:
        out.append({"system": "email", "value": email, "use": "work"})
    return out
