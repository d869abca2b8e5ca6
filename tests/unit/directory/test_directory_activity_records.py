"""Rows become records: one professional per person, a site once, an activity keyed by what it is."""
from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

from services.directory.adapters.activity_records import ACTIVITIES, ORGANISATIONS, PROFESSIONALS, ActivityChunker
from services.directory.adapters.annuaire import open_extract
from services.directory.adapters.chunks import chunks
from services.directory.adapters.known import KnownFingerprints
from tests.unit.directory.annuaire_fixtures import RPPS_A, RPPS_B, activity_line, write


def records(path: Path, size: int = 5_000) -> list[dict[str, list[tuple[Any, ...]]]]:
    extract = open_extract(path)
    try:
        return [chunk.records for chunk in chunks(extract, ActivityChunker(), size)]
    finally:
        extract.close()


def test_a_person_with_three_sites_is_one_professional_three_activities(tmp_path: Path) -> None:
    no_specialty = {"Code type savoir-faire": "", "Code savoir-faire": "", "Libellé savoir-faire": ""}
    path = write(tmp_path / "x.txt",
                 activity_line(**no_specialty),
                 activity_line(**{"Identifiant technique de la structure": "F340780477",
                                  "Numéro FINESS site": "340780477", "Code mode exercice": "S",
                                  "Code secteur d'activité": "SA01"}),
                 activity_line(**{"Identifiant technique de la structure": "", "Code mode exercice": "S"}))
    (chunk,) = records(path)
    (person,) = chunk["professional"]
    as_dict = dict(zip(PROFESSIONALS.columns, person, strict=True))
    assert as_dict["family_norm"] == "lefevre" and as_dict["given_norm"] == "helene"
    assert as_dict["specialty"] == "SM53"  # the first ordinal specialty among the person's lines
    assert [dict(zip(ORGANISATIONS.columns, site, strict=True))["kind"] for site in chunk["organisation"]] == [
        "practice", "hospital"]
    refs = [activity[1] for activity in chunk["activity"]]
    assert refs == ["C79427768100019|10|||L|", "F340780477|10|S|SM53|S|", "|10|S|SM53|S|"]
    assert [activity[2] for activity in chunk["activity"]] == ["C79427768100019", "F340780477", ""]


def test_records_match_their_columns(tmp_path: Path) -> None:
    (chunk,) = records(write(tmp_path / "x.txt", activity_line(), activity_line(RPPS_B)))
    for name, upsert in (("professional", PROFESSIONALS), ("organisation", ORGANISATIONS),
                         ("activity", ACTIVITIES)):
        assert all(len(record) == len(upsert.columns) for record in chunk[name])
    activity = dict(zip(ACTIVITIES.columns, chunk["activity"][0], strict=True))
    assert (activity["postal_code"], activity["specialty"], activity["family_norm"]) == ("75011", "SM53", "lefevre")
    assert isinstance(activity["content_hash"], int)


def test_a_site_met_again_in_a_later_chunk_is_not_sent_again(tmp_path: Path) -> None:
    path = write(tmp_path / "x.txt", activity_line(RPPS_A), activity_line(RPPS_B))
    first, second = records(path, size=1)[:2]
    assert len(first["organisation"]) == 1 and second["organisation"] == []
    assert len(second["professional"]) == 1


def test_a_changed_line_changes_its_fingerprint_only(tmp_path: Path) -> None:
    before = records(write(tmp_path / "a.txt", activity_line(RPPS_A), activity_line(RPPS_B)))[0]["activity"]
    after = records(write(tmp_path / "b.txt", activity_line(RPPS_A),
                          activity_line(RPPS_B, **{"Téléphone (coord. structure)": "0140000000"})))[0]["activity"]
    assert before[0][-1] == after[0][-1] and before[1][-1] != after[1][-1]


def test_known_fingerprints_are_met_once_and_the_rest_reported() -> None:
    known = KnownFingerprints(array("q", sorted([-5, 3, 9])))
    assert known.meet(3) and not known.meet(4)
    assert list(known.unmet()) == [-5, 9]


def test_unchanged_people_are_skipped_and_a_changed_one_is_sent_whole(tmp_path: Path) -> None:
    v1 = [activity_line(RPPS_A), activity_line(RPPS_A, **{"Code mode exercice": "S"}), activity_line(RPPS_B)]
    before = records(write(tmp_path / "v1.txt", *v1))[0]["activity"]
    known = KnownFingerprints(array("q", sorted(record[-1] for record in before)))
    changed = activity_line(RPPS_A, **{"Code mode exercice": "S", "Téléphone (coord. structure)": "0140000000"})
    extract = open_extract(write(tmp_path / "v2.txt", v1[0], changed, v1[2]))
    (chunk,) = [c.records for c in chunks(extract, ActivityChunker(known))]
    extract.close()
    assert [record[0] for record in chunk["activity"]] == ["8" + RPPS_A, "8" + RPPS_A]
    assert len(chunk["professional"]) == 1
    assert list(known.unmet()) == [before[1][-1]]  # the old version of the changed line
