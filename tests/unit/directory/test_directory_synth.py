"""Synthetic extracts: the real 52-column layout, Luhn-valid RPPS, real codes and communes, deterministic."""
from __future__ import annotations

from pathlib import Path

from services.directory.adapters.annuaire import Rejection, open_extract
from services.directory.adapters.annuaire_layout import PS_ACTIVITY_COLUMNS
from services.directory.domain.codes import PROFESSIONS, SPECIALTIES
from services.directory.synth import lines, write_extract
from services.directory.synth_data import COMMUNES
from services.shared.identifiers import check_adeli, check_rpps

COLUMN = {name: index for index, name in enumerate(PS_ACTIVITY_COLUMNS)}


def fields(count: int, seed: int = 1) -> list[list[str]]:
    return [line.rstrip("\n").split("|") for line in lines(count, seed)]


def test_lines_have_the_52_columns_and_end_with_a_bar() -> None:
    for row in fields(500):
        assert len(row) == 53 and row[-1] == ""


def test_identifiers_are_valid_and_consistent() -> None:
    for row in fields(2000):
        id_type, identifier, idnps = row[0], row[1], row[2]
        (check_rpps if id_type == "8" else check_adeli)(identifier)
        assert idnps == id_type + identifier


def test_codes_labels_and_places_are_real_ones() -> None:
    communes = {(insee, postal, city) for insee, postal, city, _ in COMMUNES}
    for row in fields(2000):
        assert PROFESSIONS[row[COLUMN["Code profession"]]] == row[COLUMN["Libellé profession"]]
        if specialty := row[COLUMN["Code savoir-faire"]]:
            assert row[COLUMN["Code type savoir-faire"]] == "S" and specialty in SPECIALTIES
        if postal := row[COLUMN["Code postal (coord. structure)"]]:
            place = (row[COLUMN["Code commune (coord. structure)"]], postal,
                     row[COLUMN["Libellé commune (coord. structure)"]])
            assert place in communes


def test_general_practitioners_are_there() -> None:
    specialties = {row[COLUMN["Code savoir-faire"]] for row in fields(3000)}
    assert {"SM26", "SM53", "SM54"} <= specialties


def test_a_person_has_consecutive_lines_and_distinct_people_distinct_numbers() -> None:
    seen: list[str] = []
    for row in fields(3000):
        if not seen or seen[-1] != row[2]:
            assert row[2] not in seen
            seen.append(row[2])


def test_the_same_seed_writes_the_same_file(tmp_path: Path) -> None:
    first, again, other = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    assert write_extract(first, 300, seed=4) == 300
    write_extract(again, 300, seed=4)
    write_extract(other, 300, seed=5)
    assert first.read_bytes() == again.read_bytes() != other.read_bytes()


def test_the_reader_accepts_every_line(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    write_extract(path, 1000, seed=2)
    extract = open_extract(path)
    rows = list(extract.rows)
    extract.close()
    assert len(rows) == 1000 and not any(isinstance(row, Rejection) for row in rows)
