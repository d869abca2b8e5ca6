"""FHIR query strings into searches: strict by default, lenient on request, each error naming its parameter."""
from __future__ import annotations

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
    ("_sort=family", "_sort", "Unsupported"),
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
        "identifier", "family", "given", "name", "active", "mailbox-mss", "qualification-code", "address-postalcode"]
    assert {p.name for p in search_params(R)} == {
        "practitioner", "organization", "role", "specialty", "address-postalcode", "address-city", "mailbox-mss"}
    assert {p.name for p in search_params(ORG)} == {
        "identifier", "name", "type", "address-postalcode", "address-city", "partof"}
    assert all(p.type in ("token", "string", "reference") for params in PARAMS.values() for p in params)
