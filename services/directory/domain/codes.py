"""Code systems of the national nomenclatures (NOS) the directory uses, with the labels we know."""
from __future__ import annotations

from enum import StrEnum

_NOS = "https://mos.esante.gouv.fr/NOS"
PROFESSION_SYSTEM = f"{_NOS}/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
SPECIALTY_SYSTEM = f"{_NOS}/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
SECTOR_SYSTEM = f"{_NOS}/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"

# TRE_G15-ProfessionSante, labels as the ANS publishes them.
PROFESSIONS: dict[str, str] = {
    "10": "Médecin",
    "21": "Pharmacien",
    "26": "Audioprothésiste",
    "28": "Opticien-Lunetier",
    "40": "Chirurgien-Dentiste",
    "50": "Sage-Femme",
    "60": "Infirmier",
    "69": "Infirmier psychiatrique",
    "70": "Masseur-Kinésithérapeute",
    "80": "Pédicure-Podologue",
    "91": "Orthophoniste",
    "92": "Orthoptiste",
    "94": "Ergothérapeute",
    "95": "Diététicien",
    "96": "Psychomotricien",
}

# TRE_R38-SpecialiteOrdinale: the general-practice codes and a few specialties.
SPECIALTIES: dict[str, str] = {
    "SM02": "Anesthésie-réanimation",
    "SM04": "Cardiologie et Maladies vasculaires",
    "SM15": "Dermatologie et Vénéréologie",
    "SM18": "Gériatrie",
    "SM20": "Gynécologie-obstétrique",
    "SM26": "Qualifié en Médecine Générale",
    "SM32": "Neurologie",
    "SM38": "Ophtalmologie",
    "SM40": "Pédiatrie",
    "SM41": "Pneumologie",
    "SM42": "Psychiatrie",
    "SM48": "Rhumatologie",
    "SM53": "Spécialiste en Médecine Générale",
    "SM54": "Médecine Générale",
    "SCD01": "Orthopédie dento-faciale",
}
GENERAL_PRACTICE = frozenset({"SM26", "SM53", "SM54"})

# TRE_R02-SecteurActivite: only the codes we are sure of.
SECTORS: dict[str, str] = {"SA01": "Etablissement public de santé", "SA07": "Cabinet individuel"}


class MailboxType(StrEnum):
    """JDV_J139 mailbox types of the MSSanté space."""

    PERSONAL = "PER"
    PRACTICE = "CAB"
    ORGANISATION = "ORG"
    APPLICATION = "APP"


class OrganisationKind(StrEnum):
    """What an organisation is, for search and for the CPTS: a coarse grouping of sector codes."""

    HOSPITAL = "hospital"
    PRACTICE = "practice"
    MSP = "msp"
    PHARMACY = "pharmacy"
    CPTS = "cpts"
    OTHER = "other"


SECTOR_KINDS: dict[str, OrganisationKind] = {
    "SA01": OrganisationKind.HOSPITAL,
    "SA07": OrganisationKind.PRACTICE,
}


def organisation_kind(sector: str, name: str) -> OrganisationKind:
    """The kind of an imported site: from its sector code, else from the usual words of its name."""
    kind = SECTOR_KINDS.get(sector)
    if kind is not None:
        return kind
    upper = name.upper()
    if upper.startswith("PHARMACIE"):
        return OrganisationKind.PHARMACY
    if "MAISON DE SANTE" in upper or upper.startswith("MSP "):
        return OrganisationKind.MSP
    if upper.startswith("CPTS"):
        return OrganisationKind.CPTS
    return OrganisationKind.OTHER


def profession_label(code: str) -> str | None:
    return PROFESSIONS.get(code)


def specialty_label(code: str) -> str | None:
    return SPECIALTIES.get(code)


def is_general_practice(specialty_code: str) -> bool:
    return specialty_code in GENERAL_PRACTICE
