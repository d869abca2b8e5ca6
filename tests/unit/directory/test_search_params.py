"""FHIR query strings into searches: strict by default, lenient on request, each error naming its parameter."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from services.directory.adapters.fhir_params import PARAMS, is_lenient, parse_search, search_params
from services.directory.adapters.search_filters import OrgIdentifier, Ref
from services.directory.domain.search import Code, Resource, Text
from services.shared.errors import Invalid

P, R, ORG = Resource.PRACTITIONER, Resource.ROLE, Resource.ORGANIZATION


def parse(resource: Resource, query: str, lenient: bool = False):  # type: ignore[no-untyped-def]
    return parse_search(resource, parse_qsl(query, keep_blank_values=True), lenient=lenient)


@pytest.mark.parametrize("value", [
    "https://rpps.esante.gouv.fr|10001045367", "urn:oid:1.2.250.1.71.4.2.1|810001045367", "10001045367",
    "810001045367", "|10001045367",
])
def test_practitioner_identifier_in_every_accepted_form_means_one_idnps(value: str) -> None:
    [criterion] = parse(P, f"identifier={value}").criteria
    assert criterion.alternatives == ("810001045367",)


def test_adeli_idnps_and_alternatives() -> None:
    [criterion] = parse(P, "identifier=0756000014,10001045367").criteria
    assert criterion.alternatives == ("0756000014", "810001045367")


@pytest.mark.parametrize("query, expression, words", [
    ("foo=1", "foo", "Unknown search parameter"),
    ("family:contains=mar", "family:contains", "modifier"),
    ("identifier=http://example.org|10001045367", "identifier", "system"),
    ("identifier=10001045368", "identifier", "Luhn"),
    ("active=yes", "active", "true or false"),
    ("_count=-1", "_count", "whole number"),
    ("_count=ten", "_count", "whole number"),
    ("_total=maybe", "_total", "none, estimate or accurate"),
    ("_include=PractitionerRole:practitioner", "_include", "not supported"),
    ("_sort=mailbox-mss", "_sort", "cannot sort"),
    ("_summary=true", "_summary", "not supported"),
    ("_elements=a.b", "_elements", "top-level"),
    ("_format=html", "_format", "json"),
    ("_lastUpdated=2024-13-01", "_lastUpdated", "real date"),
    ("_lastUpdated=xx2024", "_lastUpdated", "prefix"),
    ("_id=a b", "_id", "resource id"),
    ("_pretty=yes", "_pretty", "true or false"),
    ("qualification-code=http://loinc.org|10", "qualification-code", "system"),
    ("family=---", "family", "letters or digits"),
])
def test_strict_errors_name_the_parameter(query: str, expression: str, words: str) -> None:
    with pytest.raises(Invalid, match=words) as caught:
        parse(P, query)
    assert caught.value.expression == expression and caught.value.status == 400


def test_lenient_handling_ignores_and_says_so() -> None:
    search = parse(P, "family=martin&foo=1&active=yes&_sort=x", lenient=True)
    assert [c.name for c in search.criteria] == ["family"] and search.ignored == ("foo", "active", "_sort")
    assert is_lenient("handling=lenient") and is_lenient("return=minimal; handling = lenient")
    assert not is_lenient("handling=strict") and not is_lenient(None)


def test_string_modifiers_comma_alternatives_and_repeats() -> None:
    search = parse(P, "family:exact=MARTIN&given=jean,marie&given=jean")
    assert [(c.name, c.alternatives) for c in search.criteria] == [
        ("family", (Text("MARTIN", exact=True),)), ("given", (Text("jean"), Text("marie"))), ("given", (Text("jean"),))]
    assert parse(P, "name=D\\,Artagnan").criteria[0].alternatives == (Text("D,Artagnan"),)


def test_empty_values_are_ignored_as_fhir_says() -> None:
    assert parse(P, "family=&given=").criteria == ()


def test_paging_values() -> None:
    assert parse(P, "").paging.count == 20 and parse(P, "").paging.total
    assert parse(P, "_count=1000").paging.count == 100
    paging = parse(P, "_count=0&_offset=40&_total=none").paging
    assert (paging.count, paging.offset, paging.total) == (0, 40, False)


def test_role_references_codes_and_includes() -> None:
    search = parse(R, "practitioner=Practitioner/810001045367&organization=F750000010&specialty=SM53&"
                      "role=https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante|10&"
                      "_include=PractitionerRole:practitioner&_include=PractitionerRole:organization:Organization")
    assert [c.alternatives[0] for c in search.criteria] == [
        Ref("810001045367"), Ref("F750000010"), Code("SM53"),
        Code("10", "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante")]
    assert search.include == ("practitioner", "organization")
    with pytest.raises(Invalid) as caught:
        parse(R, "practitioner=Organization/F750000010")
    assert caught.value.expression == "practitioner"


@pytest.mark.parametrize("value, expected", [
    ("https://finess.esante.gouv.fr|750000010", OrgIdentifier("finess", "750000010")),
    ("urn:oid:1.2.250.1.71.4.2.2|1750000010", OrgIdentifier("finess", "750000010")),
    ("urn:oid:1.2.250.1.71.4.2.2|379427768100019", OrgIdentifier("siret", "79427768100019")),
    ("https://sirene.fr|79427768100019", OrgIdentifier("siret", "79427768100019")),
    ("750000010", OrgIdentifier("finess", "750000010")),
    ("79427768100019", OrgIdentifier("siret", "79427768100019")),
])
def test_organisation_identifiers(value: str, expected: OrgIdentifier) -> None:
    assert parse(ORG, f"identifier={value}").criteria[0].alternatives == (expected,)


def test_partof_by_reference_or_identifier() -> None:
    assert parse(ORG, "partof=Organization/F750000010").criteria[0].alternatives == (Ref("F750000010"),)
    by_identifier = parse(ORG, "partof:identifier=https://finess.esante.gouv.fr|750000010").criteria[0]
    assert by_identifier.alternatives == (Ref("750000010", by_identifier=True),)
    with pytest.raises(Invalid):
        parse(ORG, "identifier=urn:oid:1.2.250.1.71.4.2.2|9750000010")


def test_declared_parameters_are_exactly_those_parsed() -> None:
    assert [p.name for p in search_params(P)] == [
        "identifier", "family", "given", "name", "active", "mailbox-mss", "qualification-code", "address-postalcode",
        "_id", "_lastUpdated"]
    assert {p.name for p in search_params(R)} == {
        "practitioner", "organization", "role", "specialty", "address-postalcode", "address-city", "mailbox-mss",
        "_id", "_lastUpdated"}
    assert {p.name for p in search_params(ORG)} == {
        "identifier", "name", "type", "address-postalcode", "address-city", "partof", "_id", "_lastUpdated"}
    assert all(p.type in ("token", "string", "reference", "date") for params in PARAMS.values() for p in params)


# Every parameter of every resource is bounded: what could cost a 500 or an unbounded search is a 400
# naming the parameter, 'invalid' when malformed, 'too-costly' when it asks for too much.
ALL = [(resource, param) for resource, params in PARAMS.items() for param in params]


@pytest.mark.parametrize("query", ["_count=²", "_count=٣", "_offset=٣", "_offset=¹0", "_count=1e3", "_count= 5",
                                   "_offset=-0", "_offset=0x10", "_count=", "_offset=+1"])
def test_paging_numbers_are_ascii_digits_only(query: str) -> None:
    with pytest.raises(Invalid, match="whole number") as caught:
        parse(P, query)
    assert caught.value.expression == query.partition("=")[0] and caught.value.code == "invalid"


def test_offset_stops_at_its_bound_and_count_is_capped() -> None:
    from services.directory.domain.search import MAX_OFFSET

    assert parse(P, f"_offset={MAX_OFFSET}").paging.offset == MAX_OFFSET
    for offset in (MAX_OFFSET + 1, 99999999999999999999, "9" * 4000):
        with pytest.raises(Invalid) as caught:
            parse(P, f"family=m&_offset={offset}")
        assert (caught.value.expression, caught.value.code) == ("_offset", "too-costly")
    assert parse(P, "_count=999999999999999999").paging.count == 100
    assert parse(P, "_count=" + "9" * 4000).paging.count == 100


@pytest.mark.parametrize("resource, param", ALL, ids=lambda x: getattr(x, "name", str(x)))
def test_every_parameter_bounds_its_alternatives(resource: Resource, param: Any) -> None:
    from services.directory.domain.search import MAX_ALTERNATIVES

    too_many = ",".join(["x"] * (MAX_ALTERNATIVES + 1))
    for lenient in (False, True):
        with pytest.raises(Invalid) as caught:
            parse(resource, f"{param.name}={too_many}", lenient=lenient)
        assert (caught.value.expression, caught.value.code, caught.value.status) == (param.name, "too-costly", 400)


@pytest.mark.parametrize("resource, param", ALL, ids=lambda x: getattr(x, "name", str(x)))
def test_every_parameter_bounds_the_length_of_a_value(resource: Resource, param: Any) -> None:
    for value in ("a" * 300, "http://x.org/" + "s" * 300 + "|1", "a" * 5000):
        with pytest.raises(Invalid) as caught:
            parse(resource, f"{param.name}={value}")
        assert caught.value.expression == param.name and caught.value.status == 400
        assert value not in caught.value.message


@pytest.mark.parametrize("resource, param", ALL, ids=lambda x: getattr(x, "name", str(x)))
def test_every_parameter_bounds_its_repeats(resource: Resource, param: Any) -> None:
    from services.directory.domain.search import MAX_REPEATS

    valid = {"token": "10", "string": "ma", "reference": f"{param.name.title()}/1", "date": "ge2024-01-01"}
    value = {"identifier": "10001045367" if resource is P else "750000010", "active": "true",
             "partof": "Organization/1", "practitioner": "Practitioner/1",
             "organization": "Organization/1"}.get(param.name, valid[param.type])
    parse(resource, "&".join([f"{param.name}={value}"] * MAX_REPEATS))
    with pytest.raises(Invalid) as caught:
        parse(resource, "&".join([f"{param.name}={value}"] * (MAX_REPEATS + 1)))
    assert (caught.value.expression, caught.value.code) == (param.name, "too-costly")


def test_the_values_of_one_search_are_bounded_over_all_its_parameters() -> None:
    from services.directory.domain.search import MAX_TERMS

    forty = ",".join(f"a{i}" for i in range(40))
    parse(P, f"family={forty}&given={forty}")
    with pytest.raises(Invalid) as caught:
        parse(P, f"family={forty}&given={forty}&name={forty}")
    assert (caught.value.expression, caught.value.code) == ("name", "too-costly") and MAX_TERMS < 120


def test_the_number_of_parameters_is_bounded_even_when_lenient() -> None:
    from services.directory.domain.search import MAX_PARAMETERS

    parse(P, "&".join(["_total=none"] * MAX_PARAMETERS))
    for lenient, pair in ((False, "_total=none"), (True, "x=1")):
        with pytest.raises(Invalid) as caught:
            parse(P, "&".join([pair] * (MAX_PARAMETERS + 1)), lenient=lenient)
        assert caught.value.code == "too-costly"


@pytest.mark.parametrize("query, expression", [
    ("family=ma%00rtin", "family"), ("given=a%0Ab", "given"), ("name=%C2%85", "name"), ("fam%01ily=a", "fam?ily"),
    ("mailbox-mss=a%7F@b", "mailbox-mss"), ("identifier=%0D10001045367", "identifier"),
])
def test_control_characters_are_refused(query: str, expression: str) -> None:
    from urllib.parse import unquote

    args = [(unquote(k), unquote(v)) for k, _, v in (pair.partition("=") for pair in query.split("&"))]
    with pytest.raises(Invalid, match="control character") as caught:
        parse_search(P, args)
    assert caught.value.expression == expression


def test_a_lone_surrogate_and_an_overlong_name_are_refused() -> None:
    with pytest.raises(Invalid):
        parse_search(P, [("family", "ma\udc80")])
    with pytest.raises(Invalid, match="at most 64") as caught:
        parse_search(P, [("f" * 1000, "a")])
    assert caught.value.expression == "f" * 64


def test_unsupported_include_does_not_echo_a_long_value() -> None:
    with pytest.raises(Invalid) as caught:
        parse(R, "_include=" + "x" * 4000)
    assert len(caught.value.message) < 200
