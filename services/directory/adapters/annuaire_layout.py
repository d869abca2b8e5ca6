"""Column layouts of the Annuaire Santé extracts: fields found by their normalised header names."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from services.shared.errors import Invalid

# PS_LibreAcces_Personne_activite, in the published order (52 columns, each line ends with "|").
PS_ACTIVITY_COLUMNS: tuple[str, ...] = (
    "Type d'identifiant PP", "Identifiant PP", "Identification nationale PP",
    "Code civilité d'exercice", "Libellé civilité d'exercice", "Code civilité", "Libellé civilité",
    "Nom d'exercice", "Prénom d'exercice", "Code profession", "Libellé profession",
    "Code catégorie professionnelle", "Libellé catégorie professionnelle",
    "Code type savoir-faire", "Libellé type savoir-faire", "Code savoir-faire", "Libellé savoir-faire",
    "Code mode exercice", "Libellé mode exercice", "Numéro SIRET site", "Numéro SIREN site",
    "Numéro FINESS site", "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure", "Raison sociale site", "Enseigne commerciale site",
    "Complément destinataire (coord. structure)", "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)", "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)", "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)", "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)", "Code postal (coord. structure)",
    "Code commune (coord. structure)", "Libellé commune (coord. structure)",
    "Code pays (coord. structure)", "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)", "Téléphone 2 (coord. structure)", "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)", "Code Département (structure)",
    "Libellé Département (structure)", "Ancien identifiant de la structure",
    "Autorité d'enregistrement", "Code secteur d'activité", "Libellé secteur d'activité",
    "Code section tableau pharmaciens", "Libellé section tableau pharmaciens",
)


class Kind(StrEnum):
    PS_ACTIVITY = "ps_activity"
    MSSANTE = "mssante"


def normalise_header(name: str) -> str:
    """``"Adresse e-mail (coord. structure)"`` → ``"adresse e mail coord structure"``."""
    decomposed = unicodedata.normalize("NFKD", name.strip().lstrip("\ufeff").lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


# Record field -> accepted normalised header names. The order is the typed row's: the person,
# the site, then the activity's own columns in the order the activity table stores them.
ACTIVITY_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("id_type", ("type d identifiant pp", "type identifiant pp")),
    ("identifier", ("identifiant pp",)),
    ("idnps", ("identification nationale pp",)),
    ("title", ("code civilite d exercice",)),
    ("civility", ("code civilite",)),
    ("family", ("nom d exercice",)),
    ("given", ("prenom d exercice",)),
    ("category", ("code categorie professionnelle",)),
    ("profession_label", ("libelle profession",)),
    ("siret", ("numero siret site",)),
    ("siren", ("numero siren site",)),
    ("finess", ("numero finess site",)),
    ("legal_finess", ("numero finess etablissement juridique",)),
    ("org_name", ("raison sociale site",)),
    ("trade_name", ("enseigne commerciale site",)),
    ("structure_id", ("identifiant technique de la structure",)),
    ("profession", ("code profession",)),
    ("skill_type", ("code type savoir faire",)),
    ("skill", ("code savoir faire",)),
    ("mode", ("code mode exercice",)),
    ("role", ("code role",)),
    ("skill_label", ("libelle savoir faire",)),
    ("sector", ("code secteur d activite",)),
    ("recipient_extra", ("complement destinataire coord structure",)),
    ("place_extra", ("complement point geographique coord structure",)),
    ("street_number", ("numero voie coord structure",)),
    ("street_number_suffix", ("indice repetition voie coord structure",)),
    ("street_type", ("code type de voie coord structure",)),
    ("street_type_label", ("libelle type de voie coord structure",)),
    ("street_name", ("libelle voie coord structure",)),
    ("distribution", ("mention distribution coord structure",)),
    ("cedex", ("bureau cedex coord structure",)),
    ("postal_code", ("code postal coord structure",)),
    ("commune_code", ("code commune coord structure",)),
    ("city", ("libelle commune coord structure",)),
    ("country", ("code pays coord structure",)),
    ("phone", ("telephone coord structure",)),
    ("phone2", ("telephone 2 coord structure",)),
    ("fax", ("telecopie coord structure",)),
    ("email", ("adresse e mail coord structure",)),
    ("department", ("code departement structure", "code departement coord structure")),
)

MAILBOX_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mailbox_type", ("type de bal",)),
    ("address", ("adresse bal",)),
    ("id_type", ("type identifiant pp", "type d identifiant pp")),
    ("identifier", ("identifiant pp",)),
    ("idnps", ("identification nationale pp",)),
    ("structure_id_type", ("type identifiant structure",)),
    ("structure_id", ("identification structure", "identifiant structure")),
    ("service", ("service de rattachement",)),
    ("org_name", ("raison sociale structure bal",)),
    ("postal_code", ("code postal structure bal",)),
    ("dematerialisation", ("dematerialisation",)),
)

# Fields a file must have, with the header name an operator will recognise.
_REQUIRED = {
    Kind.PS_ACTIVITY: {"id_type": "Type d'identifiant PP", "identifier": "Identifiant PP",
                       "family": "Nom d'exercice"},
    Kind.MSSANTE: {"mailbox_type": "Type de BAL", "address": "Adresse BAL"},
}


@dataclass(frozen=True)
class Layout:
    """Where each record field sits in a line; ``width`` counts the header's named columns.

    A reader appends two values to each line's fields: an empty string at ``width`` (read by
    absent columns) and the line's fingerprint at ``width + 1`` (read as the last field).
    """

    kind: Kind
    width: int
    positions: tuple[int, ...]


def detect_layout(header: list[str]) -> Layout:
    """The layout of an extract from its header row; ``Invalid`` when it is neither known kind."""
    names = header[:-1] if header and header[-1].strip() == "" else header
    normalised = [normalise_header(name) for name in names]
    if "adresse bal" in normalised and "type de bal" in normalised:
        kind, fields = Kind.MSSANTE, MAILBOX_FIELDS
    elif "identifiant pp" in normalised and "nom d exercice" in normalised:
        kind, fields = Kind.PS_ACTIVITY, ACTIVITY_FIELDS
    else:
        raise Invalid("The file's header is not an Annuaire Santé activity extract nor an MSSanté "
                      "extract: no 'Identifiant PP' or 'Adresse BAL' column.")
    where = {name: index for index, name in reversed(list(enumerate(normalised)))}
    positions = tuple(_position(where, aliases, len(names)) for _, aliases in fields) + (len(names) + 1,)
    found = {name for (name, _), position in zip(fields, positions, strict=False) if position != len(names)}
    missing = [title for name, title in _REQUIRED[kind].items() if name not in found]
    if missing:
        raise Invalid(f"The extract's header lacks the column '{missing[0]}'.")
    return Layout(kind=kind, width=len(names), positions=positions)


def _position(where: dict[str, int], aliases: tuple[str, ...], absent: int) -> int:
    return next((where[alias] for alias in aliases if alias in where), absent)
