"""Identifier checks: RPPS (Luhn), ADELI, IDNPS, FINESS, SIRET — each failure one plain sentence."""
from __future__ import annotations

import pytest

from services.directory.domain import identifiers as ids
from services.shared.errors import Invalid


@pytest.mark.parametrize("rpps", ["10001045367", "10000023084", "10100271385"])
def test_published_rpps_numbers_pass(rpps: str) -> None:
    assert ids.check_rpps(rpps) == rpps


@pytest.mark.parametrize(("value", "reason"), [
    ("10107582544", "fails its check digit"),
    ("1000104536", "must be 11 digits"),
    ("100010453671", "must be 11 digits"),
    ("1000104536A", "must be 11 digits"),
    ("", "must be 11 digits"),
])
def test_bad_rpps_numbers_are_refused_with_a_sentence(value: str, reason: str) -> None:
    with pytest.raises(Invalid) as caught:
        ids.check_rpps(value)
    assert reason in caught.value.message
    assert caught.value.message.endswith(".")


def test_adeli_is_nine_digits() -> None:
    assert ids.check_adeli("012800736") == "012800736"
    for bad in ("12800736", "0128007361", "01280073X"):
        with pytest.raises(Invalid, match="9 digits"):
            ids.check_adeli(bad)


def test_idnps_is_the_type_then_the_number() -> None:
    assert ids.idnps_of("8", "10001045367") == "810001045367"
    assert ids.idnps_of("0", "012800736") == "0012800736"
    assert ids.check_idnps("810001045367") == ("8", "10001045367")


@pytest.mark.parametrize(("id_type", "identifier", "reason"), [
    ("8", "", "is missing"),
    ("3", "10001045367", r"must be 8 \(RPPS\) or 0 \(ADELI\)"),
    ("0", "10001045367", "9 digits"),
])
def test_professional_identifiers_by_type(id_type: str, identifier: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        ids.check_professional(id_type, identifier)


def test_finess_is_nine_letters_or_digits_corsica_included() -> None:
    assert ids.check_finess("250000700") == "250000700"
    assert ids.check_finess("2A0000013") == "2A0000013"
    for bad in ("25000070", "2500007000", "25000-700"):
        with pytest.raises(Invalid, match="9 letters or digits"):
            ids.check_finess(bad)


def test_siret_luhn_and_la_poste() -> None:
    assert ids.check_siret("39806996300013") == "39806996300013"
    assert ids.check_siret("35600000000048")  # La Poste's head office: an ordinary Luhn number
    assert ids.check_siret("35600000049837")  # another La Poste site: digit sum divisible by 5
    with pytest.raises(Invalid, match="check digit"):
        ids.check_siret("39806996300014")


def test_luhn_check_digit_completes_any_body() -> None:
    for body in ("1000104536", "1", "7654321", "39806996300 01".replace(" ", "")):
        assert ids.luhn_valid(body + ids.luhn_check_digit(body))
    assert ids.luhn_check_digit("1000104536") == "7"
