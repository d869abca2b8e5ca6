"""services.shared.identifiers: RPPS (Luhn), ADELI, IDNPS, FINESS, SIRET, INS (NIR key, 2A/2B), mailbox addresses.

Each failure is one plain sentence naming the field through ``expression``; python-stdnum (fr.nir, luhn) is the
reference where it has the identifier: its published vectors, and agreement on generated values.
"""
from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.fr import nir

from services.shared import identifiers as ids
from services.shared.errors import Invalid

DIGITS = "0123456789"


def refusal(check: object, *args: str, **kwargs: str) -> Invalid:
    with pytest.raises(Invalid) as caught:
        check(*args, **kwargs)  # type: ignore[operator]
    error = caught.value
    assert error.status == 400 and error.message.endswith(".") and error.message.count(". ") == 0
    return error


# --- Luhn and RPPS -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rpps", ["10001045367", "10000023084", "10100271385"])
def test_published_rpps_numbers_pass(rpps: str) -> None:
    assert ids.check_rpps(rpps) == rpps


@pytest.mark.parametrize(("value", "reason"), [
    ("10107582544", "fails its check digit"),
    ("1000104536", "must be 11 digits"),
    ("100010453671", "must be 11 digits"),
    ("1000104536A", "must be 11 digits"),
    ("1000104536\u0667", "must be 11 digits"),  # an Arabic-Indic seven: str.isdigit() would take it
    ("", "must be 11 digits"),
])
def test_bad_rpps_numbers_are_refused_with_a_sentence_naming_the_field(value: str, reason: str) -> None:
    error = refusal(ids.check_rpps, value)
    assert reason in error.message and error.expression == "rpps"
    assert refusal(ids.check_rpps, value, "practitioner").expression == "practitioner"


def test_stdnum_luhn_vectors() -> None:
    assert not ids.luhn_valid("7894") and ids.luhn_valid("78949")
    assert ids.luhn_check_digit("7894") == "9" == luhn.calc_check_digit("7894")


def test_luhn_check_digit_completes_any_body() -> None:
    for body in ("1000104536", "1", "7654321", "3980699630001"):
        assert ids.luhn_valid(body + ids.luhn_check_digit(body))
    assert ids.luhn_check_digit("1000104536") == "7"


@given(st.text(DIGITS, min_size=11, max_size=11))
@example("10001045367")
def test_rpps_check_agrees_with_stdnum_luhn(number: str) -> None:
    try:
        ids.check_rpps(number)
        ours = True
    except Invalid:
        ours = False
    assert ours == luhn.is_valid(number)
    assert ids.luhn_check_digit(number[:10]) == luhn.calc_check_digit(number[:10])


# --- ADELI, IDNPS ------------------------------------------------------------------------------------------------

def test_adeli_is_nine_digits() -> None:
    assert ids.check_adeli("012800736") == "012800736"
    for bad in ("12800736", "0128007361", "01280073X"):
        assert "9 digits" in refusal(ids.check_adeli, bad).message


def test_idnps_is_the_type_then_the_number() -> None:
    assert ids.idnps_of("8", "10001045367") == "810001045367"
    assert ids.idnps_of("0", "012800736") == "0012800736"
    assert ids.check_idnps("810001045367") == ("8", "10001045367")
    assert refusal(ids.check_idnps, "").expression == "idnps"
    assert ids.professional_idnps("10001045367") == ids.professional_idnps("810001045367") == "810001045367"
    assert ids.professional_idnps("0012800736") == "0012800736"


def test_the_rpps_or_adeli_inside_an_idnps() -> None:
    assert ids.rpps_of("810001045367") == "10001045367" and ids.adeli_of("810001045367") is None
    assert ids.adeli_of("0012800736") == "012800736" and ids.rpps_of("0012800736") is None
    assert ids.rpps_of("80001045367") is None  # a bare 11-digit number is not an IDNPS


@pytest.mark.parametrize(("id_type", "identifier", "reason", "expression"), [
    ("8", "", "is missing", "identifier"),
    ("3", "10001045367", "must be 8 (RPPS) or 0 (ADELI)", "identifier.type"),
    ("0", "10001045367", "9 digits", "identifier"),
])
def test_professional_identifiers_by_type(id_type: str, identifier: str, reason: str, expression: str) -> None:
    error = refusal(ids.check_professional, id_type, identifier)
    assert reason in error.message and error.expression == expression


# --- FINESS, SIRET -----------------------------------------------------------------------------------------------

def test_finess_is_nine_letters_or_digits_corsica_included_upper_cased() -> None:
    assert ids.check_finess("250000700") == "250000700"
    assert ids.check_finess("2a0000013") == "2A0000013"
    for bad in ("25000070", "2500007000", "25000-700", "25000070\u00e9"):
        error = refusal(ids.check_finess, bad)
        assert "9 letters or digits" in error.message and error.expression == "finess"


def test_siret_luhn_and_la_poste() -> None:
    assert ids.check_siret("39806996300013") == "39806996300013"
    assert ids.check_siret("35600000000048")  # La Poste's head office: an ordinary Luhn number
    assert ids.check_siret("35600000049837")  # another La Poste site: digit sum divisible by 5
    assert "check digit" in refusal(ids.check_siret, "39806996300014").message


# --- INS (NIR + key) ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ins", ["279035121518989", "2 79 03 51 215 189 89", "269054958815780", "180012A00100161",
                                 "180012B00100188", "180012a00100161"])
def test_valid_ins_spaces_removed_upper_case(ins: str) -> None:
    assert ids.check_ins(ins) == ins.replace(" ", "").upper()


def test_stdnum_fr_nir_vectors() -> None:
    assert ids.check_ins("2 95 10 99 126 111 93") == "295109912611193"
    assert ids.check_ins("253072B07300470") == "253072B07300470"
    assert ids.check_ins("253072A07300443") == "253072A07300443"
    assert "check key" in refusal(ids.check_ins, "295109912611199").message
    assert "digits" in refusal(ids.check_ins, "253072C07300443").message
    assert "15 characters" in refusal(ids.check_ins, "6546546546546703").message


def test_corsican_ins_replaces_2a_and_2b_before_the_modulo() -> None:
    for department, stands_for in (("2A", "19"), ("2B", "18")):
        number = f"18502{department}123456"
        key = 97 - int(number.replace(department, stands_for)) % 97
        assert ids.nir_key(number) == key
        assert ids.check_ins(f"{number}{key:02d}") == f"{number}{key:02d}"
        assert "check key" in refusal(ids.check_ins, f"{number}{(key % 97) + 1:02d}").message
    assert "check key" in refusal(ids.check_ins, "180012A00100156").message  # the key if 2A were read as "12"


@pytest.mark.parametrize(("ins", "reason"), [
    ("27903512151898", "15 characters"), ("279035121518988", "check key"), ("2790351215189AB", "digits"),
    ("579035121518989", "digits"),  # the first digit is 1, 2 (3, 4, 7, 8 provisional), never 5
    ("27903512151898\u0669", "digits"), ("2790351215189\u00b2\u00b2", "digits"),  # Unicode digits, not ASCII
])
def test_bad_ins_is_refused_without_quoting_it(ins: str, reason: str) -> None:
    error = refusal(ids.check_ins, ins, field="ins")
    assert reason in error.message and ins not in error.message and ins[:13] not in error.message
    assert error.expression == "ins"
    assert refusal(ids.check_ins, ins).expression == "patient_ins"


@st.composite
def nirs(draw: st.DrawFn) -> str:
    """15 characters shaped like an INS: any first digit, a department of digits or letters, often the right key."""
    department = draw(st.one_of(st.text(DIGITS, min_size=2, max_size=2), st.sampled_from(["2A", "2B", "2C", "A2"])))
    number = draw(st.text(DIGITS, min_size=5, max_size=5)) + department + draw(st.text(DIGITS, min_size=6, max_size=6))
    right = ids.nir_key(number) if department.isdigit() or department in ("2A", "2B") else 0
    key = draw(st.one_of(st.just(right), st.integers(0, 99)))
    return f"{number}{key:02d}"


@given(st.one_of(nirs(), st.text(DIGITS + "ABab", min_size=15, max_size=15)))
@example("279035121518989")
@example("253072A07300443")
def test_ins_check_agrees_with_stdnum_fr_nir(value: str) -> None:
    try:
        ids.check_ins(value)
        ours = True
    except Invalid:
        ours = False
    # One rule more than stdnum: the first digit (sex) is 1, 2, 3, 4, 7 or 8, as the OpenAPI INS pattern says.
    assert ours == (nir.is_valid(value) and value[0] in "123478")


# --- Mailbox addresses -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, normalised", [
    ("  Jeanne.MARTIN@Maillage.MSSante.fr ", "jeanne.martin@maillage.mssante.fr"),
    ("NE-PAS-REPONDRE@MAILLAGE.MSSANTE.FR", "ne-pas-repondre@maillage.mssante.fr"),
    ("service@hopital.mssante.fr", "service@hopital.mssante.fr"),
    ("279035121518989@patient.mssante.fr", "279035121518989@patient.mssante.fr"),
])
def test_addresses_are_normalised_once(raw: str, normalised: str) -> None:
    assert ids.check_mailbox_address(raw) == normalised


@pytest.mark.parametrize("raw", [
    "\u212aate@maillage.mssante.fr",  # KELVIN SIGN: lower() would make it a plain k
    "ne-pas-r\u0435pondre@maillage.mssante.fr",  # a Cyrillic e
    "jeanne@maillage.mssante.fr.", "jeanne@@maillage.mssante.fr", "jeanne@maillage", "a" * 250 + "@maillage.fr",
    "jeanne\n@maillage.mssante.fr", "jeanne@maillage.mssante.fr\x00", ".jeanne@maillage.fr", "jeanne..m@maillage.fr",
    "jeanne@-maillage.fr", "jeanne@maillage.123", "not-an-address", "",
])
def test_an_address_that_could_pass_for_another_is_400(raw: str) -> None:
    error = refusal(ids.check_mailbox_address, raw)
    assert error.expression == "mailbox" and "must be a mailbox address" in error.message
    assert refusal(ids.check_mailbox_address, raw, "to[0]").message.startswith("'to[0]' must be")


# --- Systems -----------------------------------------------------------------------------------------------------

def test_systems_are_the_ans_ones() -> None:
    assert ids.INS_NIR_SYSTEM == "urn:oid:1.2.250.1.213.1.4.8" and ids.INS_NIA_SYSTEM.endswith(".4.9")
    assert ids.INS_SYSTEMS[2:] == ("urn:oid:1.2.250.1.213.1.4.10", "urn:oid:1.2.250.1.213.1.4.11")
    assert (ids.IDNPS_SYSTEM, ids.IDNST_SYSTEM) == ("urn:oid:1.2.250.1.71.4.2.1", "urn:oid:1.2.250.1.71.4.2.2")
    assert (ids.RPPS_SYSTEM, ids.FINESS_SYSTEM) == ("https://rpps.esante.gouv.fr", "https://finess.esante.gouv.fr")
