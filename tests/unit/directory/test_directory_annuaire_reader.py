"""The streaming reader: typed rows, every bad line rejected with its number and reason, any encoding."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.directory.adapters.annuaire import Rejection, open_extract
from services.directory.adapters.annuaire_layout import Kind
from services.directory.adapters.encoding import detect_encoding
from services.directory.adapters.rows import ActivityRow, MailboxRow
from services.shared.errors import Invalid
from tests.unit.directory.annuaire_fixtures import (
    RPPS_A,
    RPPS_B,
    RPPS_C,
    activity_line,
    mailbox_header,
    mailbox_line,
    write,
)


def read(path: Path) -> list[Any]:
    extract = open_extract(path)
    try:
        return list(extract.rows)
    finally:
        extract.close()


def test_rows_are_typed_and_fingerprinted(tmp_path: Path) -> None:
    rows = read(write(tmp_path / "x.txt", activity_line(), activity_line(RPPS_B, **{"Code mode exercice": "S"})))
    assert [type(row) for row in rows] == [ActivityRow, ActivityRow]
    first = rows[0]
    assert (first.idnps, first.family, first.given, first.postal_code, first.skill) == (
        "8" + RPPS_A, "LEFÈVRE", "Hélène", "75011", "SM53")
    assert first.role == ""  # a column this layout lacks reads as empty
    assert rows[0].fingerprint != rows[1].fingerprint


def test_every_bad_line_is_rejected_with_its_number_and_reason(tmp_path: Path) -> None:
    lines = [
        activity_line(),                                                    # 2 good
        activity_line("10107582544", **{"Identification nationale PP": ""}),  # 3 Luhn
        activity_line(**{"Type d'identifiant PP": "0", "Identifiant PP": "12800736",
                         "Identification nationale PP": ""}),                 # 4 ADELI of 8 digits
        activity_line(**{"Identifiant PP": "", "Identification nationale PP": ""}),  # 5 missing
        "8|" + RPPS_B + "|too|short|\n",                                    # 6 column count
        activity_line(RPPS_B, **{"Identification nationale PP": "8" + RPPS_C}),  # 7 IDNPS mismatch
        activity_line(RPPS_C, **{"Numéro FINESS site": "25000070"}),         # 8 FINESS
        "\n",                                                               # 9 blank: skipped
        activity_line(RPPS_C),                                              # 10 good
    ]
    rows = read(write(tmp_path / "x.txt", *lines))
    rejections = [row for row in rows if isinstance(row, Rejection)]
    assert [(r.line, r.reason) for r in rejections] == [
        (3, "The RPPS number fails its check digit (Luhn)."),
        (4, "An ADELI number must be 9 digits."),
        (5, "The professional's identifier is missing."),
        (6, "The line has 5 fields where the header has 52."),
        (7, "The national identifier (IDNPS) does not match the identifier type and number."),
        (8, "The site's FINESS number must be 9 letters or digits."),
    ]
    assert [row.identifier for row in rows if isinstance(row, ActivityRow)] == [RPPS_A, RPPS_C]


def test_a_latin1_file_with_windows_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(write(tmp_path / "u.txt", activity_line(), activity_line(RPPS_B))
                     .read_text(encoding="utf-8").replace("\n", "\r\n").encode("cp1252"))
    extract = open_extract(path)
    rows = list(extract.rows)
    extract.close()
    assert extract.encoding == "cp1252"
    assert [row.family for row in rows] == ["LEFÈVRE", "LEFÈVRE"]
    assert rows[0].role == ""  # the "\r\n" did not leak into the last column


def test_a_utf8_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", activity_line(), encoding="utf-8-sig")
    extract = open_extract(path)
    rows = list(extract.rows)
    extract.close()
    assert extract.encoding == "utf-8-sig" and rows[0].identifier == RPPS_A


def test_encoding_detection_rules() -> None:
    assert detect_encoding("Hélène".encode()) == "utf-8"
    assert detect_encoding("Hélène".encode()[:2]) == "utf-8"  # cut inside "é": still UTF-8
    assert detect_encoding("Hélène".encode("latin-1")) == "cp1252"
    assert detect_encoding("’".encode("cp1252")) == "cp1252"
    assert detect_encoding(b"\xff\xfeH\x00") == "utf-16"


def test_lines_without_a_trailing_bar_and_a_last_line_without_newline(tmp_path: Path) -> None:
    header = "Type d'identifiant PP|Identifiant PP|Nom d'exercice\n"
    rows = read(write(tmp_path / "x.txt", f"8|{RPPS_A}|DUPONT\n", f"8|{RPPS_B}|MARTIN", header=header))
    assert [(row.identifier, row.family, row.idnps) for row in rows] == [
        (RPPS_A, "DUPONT", ""), (RPPS_B, "MARTIN", "")]


def test_mailbox_rows(tmp_path: Path) -> None:
    lines = [mailbox_line("PER", "helene.lefevre@medecin.mssante.fr", RPPS_A),
             mailbox_line("ORG", "urgences@hopital.mssante.fr", structure="1340780477"),
             mailbox_line("XYZ", "a@b.fr"), mailbox_line("PER", "no-at-sign"), mailbox_line("PER", "c@d.fr")]
    rows = read(write(tmp_path / "m.txt", *lines, header=mailbox_header()))
    assert [type(row) for row in rows[:2]] == [MailboxRow, MailboxRow]
    assert [(r.line, r.reason) for r in rows[2:]] == [
        (4, "The mailbox type must be PER, CAB, ORG or APP."),
        (5, "'address' must be a mailbox address such as prenom.nom@medecin.mssante.fr."),
        (6, "A personal mailbox (PER) must name its owner's identifier."),
    ]
    assert open_extract(tmp_path / "m.txt").kind is Kind.MSSANTE


@pytest.mark.parametrize(("content", "reason"), [(b"", "is empty"), (b"Nom|Ville|\nX|Y|\n", "not an Annuaire")])
def test_files_that_are_not_extracts(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(Invalid, match=reason):
        open_extract(path)
