"""The enrolment form's field rules, the name match with national data: pure domain."""
from __future__ import annotations

import pytest

from services.directory.domain.enrolment import (
    Enrol,
    check_civility,
    check_names_match,
    check_phone,
    display_name,
)
from services.directory.domain.errors import NameMismatch
from services.shared.errors import Invalid
from services.shared.identifiers import check_mailbox_address


def form(**changes: str) -> Enrol:
    values = {"civility": "Mme", "family": "Lefèvre-d'Été", "given": "Hélène",
              "mailbox": " Helene.L@Infirmier.MSSante.fr ", "phone1": "+33 6 12 34 56 78", "rpps": "10000023084",
              "address": " 12  bd Voltaire ", "postal_code": "75011", "city": "Paris"}
    values.update(changes)
    return Enrol(**values)


def test_a_good_form_comes_back_in_canonical_shape() -> None:
    checked = form().checked()
    assert (checked.civility, checked.mailbox, checked.phone1, checked.address) == (
        "MME", "helene.l@infirmier.mssante.fr", "0612345678", "12 bd Voltaire")
    assert checked.phone2 is None and checked.specialty is None


@pytest.mark.parametrize("field, value, expression", [
    ("rpps", "1000002308", "rpps"),  # 10 digits
    ("rpps", "10000023085", "rpps"),  # Luhn fails
    ("rpps", "1000002308A", "rpps"),
    ("mailbox", "helene.infirmier.mssante.fr", "mailbox"),
    ("mailbox", "hélène@infirmier.mssante.fr", "mailbox"),
    ("mailbox", "helene@localhost", "mailbox"),
    ("phone1", "12 34", "phone1"),
    ("phone2", "+44 20 7946 0958", "phone2"),
    ("postal_code", "7501", "postal_code"),
    ("civility", "Dr", "civility"),
    ("family", "   ", "family"),
    ("city", "", "city"),
])
def test_each_malformed_field_is_named(field: str, value: str, expression: str) -> None:
    with pytest.raises(Invalid) as caught:
        form(**{field: value}).checked()
    assert caught.value.expression == expression and caught.value.status == 400


def test_a_bad_rpps_says_why() -> None:
    with pytest.raises(Invalid, match="Luhn"):
        form(rpps="10000023085").checked()
    with pytest.raises(Invalid, match="11 digits"):
        form(rpps="123").checked()


@pytest.mark.parametrize("family, given", [
    ("LEFÈVRE-D'ÉTÉ", "Hélène"), ("lefevre d'ete", "helene"), ("Lefevre D Ete", "HELENE"), ("lefèvre-d’été", "hélène"),
])
def test_names_match_whatever_the_accents_case_and_punctuation(family: str, given: str) -> None:
    check_names_match(form(family=family, given=given), "LEFÈVRE-D'ÉTÉ", "Hélène")


@pytest.mark.parametrize("family, given, expression", [
    ("Lefèvre", "Hélène", "family"), ("Lefèvre-d'Été", "Hélèna", "given"), ("Martin", "Jeanne", "family"),
])
def test_a_different_name_is_a_mismatch_naming_the_field(family: str, given: str, expression: str) -> None:
    with pytest.raises(NameMismatch) as caught:
        check_names_match(form(family=family, given=given), "LEFÈVRE-D'ÉTÉ", "Hélène")
    assert caught.value.expression == expression and caught.value.status == 422


def test_civility_mailbox_and_phone_spellings() -> None:
    assert [check_civility(v) for v in ("m", "M.", "Monsieur", "mme", "Madame")] == ["M", "M", "M", "MME", "MME"]
    assert check_mailbox_address("Jeanne.MARTIN@medecin.mssante.fr") == "jeanne.martin@medecin.mssante.fr"
    assert check_phone("01.23.45.67.89", "phone1") == check_phone("0033 1 23 45 67 89", "phone1") == "0123456789"


def test_display_name_prefers_the_title_of_practice() -> None:
    assert display_name("DR", "MME", "Jeanne", "MARTIN") == "Dr Jeanne MARTIN"
    assert display_name("", "MME", "Hélène", "LEFÈVRE") == "Mme Hélène LEFÈVRE"
    assert display_name(None, None, "Luc", "Z") == "Luc Z"
