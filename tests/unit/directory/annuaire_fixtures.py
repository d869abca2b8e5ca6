"""Extract files for the directory import tests, written from the published layouts (no real data)."""
from __future__ import annotations

from pathlib import Path

from services.directory.adapters.annuaire_layout import PS_ACTIVITY_COLUMNS

REPO = Path(__file__).resolve().parents[3]
PSC_SAMPLE = REPO.parent / "shared" / "samples" / "annuaire" / "Extraction_ProSanteConnect_Personne_activite_sample.txt"

# The MSSanté correspondence extract's 31 columns, as a third party documents them.
MSSANTE_COLUMNS = (
    "Type de BAL", "Adresse BAL", "Type Identifiant PP", "Identifiant PP", "Identification nationale PP",
    "Type identifiant structure", "Identification Structure", "Service de rattachement", "Civilité d'exercice",
    "Nom d'exercice", "Prénom d'exercice", "Catégorie profession", "Libellé de catégorie profession",
    "Code Profession", "Libellé Profession", "Code savoir-faire", "Libellé savoir-faire", "Dématérialisation",
    "Raison Sociale structure BAL", "Enseigne commerciale structure BAL", "L2COMPLEMENTLOCALISATION structure BAL",
    "L3COMPLEMENTDISTRIBUTION structure BAL", "L4NUMEROVOIE structure BAL", "L4COMPLEMENTNUMEROVOIE structure BAL",
    "NL4TYPEVOIE structure BAL", "L4LIBELLEVOIE structure BAL", "L5LIEUDITMENTION structure BAL",
    "L6LIGNEACHEMINEMENT structure BAL", "Code postal structure BAL", "Département structure BAL",
    "Pays structure BAL",
)

# Luhn-valid RPPS numbers (the second pair from the ANS's public test identities).
RPPS_A, RPPS_B, RPPS_C = "10001045367", "10000023084", "10100271385"


def activity_line(rpps: str = RPPS_A, **values: str) -> str:
    """One Personne_activite line: a GP at a practice unless ``values`` (by header name) say otherwise."""
    fields = {
        "Type d'identifiant PP": "8", "Identifiant PP": rpps, "Identification nationale PP": "8" + rpps,
        "Code civilité d'exercice": "DR", "Code civilité": "MME", "Nom d'exercice": "LEFÈVRE",
        "Prénom d'exercice": "Hélène", "Code profession": "10", "Libellé profession": "Médecin",
        "Code type savoir-faire": "S", "Code savoir-faire": "SM53",
        "Libellé savoir-faire": "Spécialiste en Médecine Générale", "Code mode exercice": "L",
        "Numéro SIRET site": "79427768100019", "Identifiant technique de la structure": "C79427768100019",
        "Raison sociale site": "CABINET VOLTAIRE", "Numéro Voie (coord. structure)": "12",
        "Libellé type de voie (coord. structure)": "Boulevard", "Libellé Voie (coord. structure)": "VOLTAIRE",
        "Code postal (coord. structure)": "75011", "Code commune (coord. structure)": "75111",
        "Libellé commune (coord. structure)": "Paris 11e Arrondissement", "Code secteur d'activité": "SA07",
        **values,
    }
    return "|".join(fields.get(column, "") for column in PS_ACTIVITY_COLUMNS) + "|\n"


def activity_header() -> str:
    return "|".join(PS_ACTIVITY_COLUMNS) + "|\n"


def write(path: Path, *lines: str, header: str | None = None, encoding: str = "utf-8") -> Path:
    path.write_text((activity_header() if header is None else header) + "".join(lines), encoding=encoding)
    return path


def mailbox_line(kind: str, address: str, rpps: str = "", structure: str = "") -> str:
    fields = {"Type de BAL": kind, "Adresse BAL": address, "Type Identifiant PP": "8" if rpps else "",
              "Identifiant PP": rpps, "Identification nationale PP": "8" + rpps if rpps else "",
              "Type identifiant structure": "1" if structure else "", "Identification Structure": structure,
              "Code postal structure BAL": "34000"}
    return "|".join(fields.get(column, "") for column in MSSANTE_COLUMNS) + "|\n"


def mailbox_header() -> str:
    return "|".join(MSSANTE_COLUMNS) + "|\n"
