"""Columns are found by their normalised header names, whatever the layout; the kind by the header."""
from __future__ import annotations

import pytest

from services.directory.adapters.annuaire_layout import (
    ACTIVITY_FIELDS,
    PS_ACTIVITY_COLUMNS,
    Kind,
    detect_layout,
    normalise_header,
)
from services.directory.adapters.rows import ActivityRow, MailboxRow
from services.shared.errors import Invalid
from tests.unit.directory.annuaire_fixtures import MSSANTE_COLUMNS, PSC_SAMPLE


def _field(layout_positions: tuple[int, ...], name: str, fields: tuple[str, ...]) -> int:
    return layout_positions[fields.index(name)]


def test_header_names_normalise_case_accents_and_punctuation() -> None:
    assert normalise_header(" Adresse e-mail (coord. structure) ") == "adresse e mail coord structure"
    assert normalise_header("\ufeffType d'identifiant PP") == "type d identifiant pp"
    assert normalise_header("CODE DÉPARTEMENT (STRUCTURE)") == "code departement structure"


def test_the_published_52_column_layout_maps_every_field() -> None:
    assert len(PS_ACTIVITY_COLUMNS) == 52
    layout = detect_layout([*PS_ACTIVITY_COLUMNS, ""])  # lines end with "|"
    assert layout.kind is Kind.PS_ACTIVITY and layout.width == 52
    names = ActivityRow._fields
    missing = {name for name, position in zip(names, layout.positions, strict=True) if position == 52}
    assert missing == {"role"}  # "Code rôle" is in later layouts only: read as empty
    assert layout.positions[-1] == 53  # the fingerprint the reader appends
    assert PS_ACTIVITY_COLUMNS[_field(layout.positions, "postal_code", names)] == "Code postal (coord. structure)"
    assert PS_ACTIVITY_COLUMNS[_field(layout.positions, "skill", names)] == "Code savoir-faire"


def test_another_order_and_spelling_of_the_same_columns() -> None:
    shuffled = [name.upper() for name in reversed(PS_ACTIVITY_COLUMNS)]
    layout = detect_layout(shuffled)
    assert layout.kind is Kind.PS_ACTIVITY
    position = _field(layout.positions, "identifier", ActivityRow._fields)
    assert shuffled[position] == "IDENTIFIANT PP"


@pytest.mark.skipif(not PSC_SAMPLE.is_file(), reason=f"the public PSC sample is not at {PSC_SAMPLE}")
def test_the_pro_sante_connect_layout_reads_as_an_activity_extract() -> None:
    header = PSC_SAMPLE.read_text(encoding="utf-8").splitlines()[0].split("|")
    layout = detect_layout(header)
    assert layout.kind is Kind.PS_ACTIVITY and layout.width == 49
    found = {name for (name, _), position in zip(ACTIVITY_FIELDS, layout.positions, strict=False)
             if position < layout.width}
    assert {"id_type", "identifier", "idnps", "family", "given", "profession", "skill", "mode", "structure_id",
            "postal_code", "commune_code", "phone", "email", "role", "sector"} <= found
    # The person's own e-mail is "(coord. correspondance)": never taken for the site's.
    assert header[_field(layout.positions, "email", ActivityRow._fields)] == "Adresse e-mail (coord. structure)"


def test_the_mssante_extract_is_told_by_its_header() -> None:
    layout = detect_layout([*MSSANTE_COLUMNS, ""])
    assert layout.kind is Kind.MSSANTE and layout.width == 31
    assert MSSANTE_COLUMNS[_field(layout.positions, "address", MailboxRow._fields)] == "Adresse BAL"
    assert MSSANTE_COLUMNS[_field(layout.positions, "structure_id", MailboxRow._fields)] == "Identification Structure"


@pytest.mark.parametrize(("header", "reason"), [
    (["Nom", "Prénom", "Ville"], "not an Annuaire Santé activity extract"),
    (["Identifiant PP", "Nom d'exercice"], "lacks the column 'Type d'identifiant PP'"),
])
def test_unknown_headers_are_refused_in_one_sentence(header: list[str], reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        detect_layout(header)
