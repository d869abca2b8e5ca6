"""The shared FHIR edge: result parameters, dates, negotiation, _elements, links, the platform's catalogue."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.shared.errors import Invalid
from services.shared.fhir import bundle, capability
from services.shared.fhir.negotiation import NotAcceptable, check_accept, check_format, read_options
from services.shared.fhir.params import (
    ID,
    LAST_UPDATED,
    Limits,
    Param,
    SearchSpec,
    SortKey,
    date_range,
    parse_query,
    whole,
)

SPEC = SearchSpec.of("Thing", [Param("name", "string", lambda key, value, modifier: value, "Name."), ID, LAST_UPDATED],
                     sorts=("name", "_id"), includes=("Thing:owner",), limits=Limits(max_count=50))


def parse(query: str, lenient: bool = False):  # type: ignore[no-untyped-def]
    return parse_query(SPEC, parse_qsl(query, keep_blank_values=True), lenient=lenient)


def ts(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize("value, prefix, low, high", [
    ("2024", "eq", ts(2024, 1, 1), ts(2025, 1, 1)),
    ("ge2024-12", "ge", ts(2024, 12, 1), ts(2025, 1, 1)),
    ("lt2024-02-29", "lt", ts(2024, 2, 29), ts(2024, 3, 1)),
    ("gt2024-05-01T10:00Z", "gt", ts(2024, 5, 1, 10), ts(2024, 5, 1, 10, 1)),
    ("le2024-05-01T10:00:30+02:00", "le", ts(2024, 5, 1, 8, 0, 30), ts(2024, 5, 1, 8, 0, 31)),
    ("eq2024-05-01T10:00:30.5Z", "eq", ts(2024, 5, 1, 10, 0, 30) + 0.5, ts(2024, 5, 1, 10, 0, 30) + 0.6),
])
def test_a_date_is_the_range_of_instants_its_precision_covers(value: str, prefix: str, low: float, high: float) -> None:
    found = date_range("_lastUpdated", value, None)
    assert (found.prefix, found.low) == (prefix, low) and found.high == pytest.approx(high)


@pytest.mark.parametrize("value", ["2024-13", "2024-02-30", "ap2024", "2024-05-01T25:00Z", "24", "2024-5-1", ""])
def test_a_date_that_is_not_one_is_refused_naming_the_parameter(value: str) -> None:
    with pytest.raises(Invalid) as caught:
        date_range("_lastUpdated", value, None)
    assert caught.value.expression == "_lastUpdated"


def test_result_parameters_shape_the_query() -> None:
    query = parse("name=a&_count=500&_offset=40&_sort=-name,_id&_elements=name,telecom&_elements=name"
                  "&_total=none&_include=Thing:owner&_format=application/fhir%2Bjson&_pretty=true")
    assert (query.paging.count, query.paging.offset, query.paging.total) == (50, 40, False)
    assert query.sort == (SortKey("name", True), SortKey("_id"))
    assert query.elements == ("name", "telecom") and query.include == ("Thing:owner",) and query.pretty
    assert not parse("_totalMethod=none").paging.total and parse("_total=none&_totalMethod=count").paging.total
    counted = parse("name=a&_summary=count&_count=10")
    assert counted.summary_count and (counted.paging.count, counted.paging.total) == (0, True)


@pytest.mark.parametrize("query, expression", [
    ("_sort=colour", "_sort"), ("_sort=name,-name", "_sort"), ("_sort=name,_id,name,x", "_sort"),
    ("_summary=text", "_summary"), ("_elements=na-me", "_elements"), ("_id=a/b", "_id"), ("_count=٣", "_count"),
    ("_format=turtle", "_format"), ("_include=Thing:other", "_include"), ("_pretty=1", "_pretty"),
])
def test_malformed_result_parameters_are_400s_naming_them(query: str, expression: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse(query)
    assert (caught.value.status, caught.value.expression) == (400, expression)


@pytest.mark.parametrize("query", ["_format=xml", "_format=application/fhir%2Bxml", "_format=text/xml"])
def test_xml_asked_for_is_a_406_even_when_lenient(query: str) -> None:
    for lenient in (False, True):
        with pytest.raises(NotAcceptable) as caught:
            parse(query, lenient=lenient)
        assert (caught.value.status, caught.value.expression) == (406, "_format")


def test_whole_numbers_are_ascii_digits_and_bounded() -> None:
    assert whole("_count", "007") == 7 and whole("_offset", "9" * 40) == 10**18
    for bad in ("-1", "1.0", "²", " 1", ""):
        with pytest.raises(Invalid):
            whole("_count", bad)


@pytest.mark.parametrize("accept", [None, "", "application/fhir+json", "application/json", "*/*",
                                    "application/fhir+xml;q=0.9, application/fhir+json", "text/html,*/*;q=0.8",
                                    "application/json+fhir"])
def test_accept_headers_a_json_answer_satisfies(accept: str | None) -> None:
    check_accept(accept)


@pytest.mark.parametrize("accept", ["application/fhir+xml", "application/xml", "text/xml, application/fhir+xml",
                                    "application/fhir+json;q=0"])
def test_accept_headers_without_json_are_406(accept: str) -> None:
    with pytest.raises(NotAcceptable) as caught:
        check_accept(accept)
    assert caught.value.expression == "Accept"


def test_reads_take_format_and_pretty_and_leave_the_rest() -> None:
    assert read_options(None, [("_format", "json"), ("_pretty", "true"), ("other", "x")]) is True
    with pytest.raises(NotAcceptable):
        read_options(None, [("_format", "xml")])
    check_format("_format", "application/fhir+json; fhirVersion=4.0")


def test_elements_keep_the_mandatory_elements_and_tag_the_subset() -> None:
    resource = {"resourceType": "Thing", "id": "1", "meta": {"profile": ["p"]}, "name": "n", "telecom": [1]}
    kept = bundle.subset(resource, ("name",))
    assert kept == {"resourceType": "Thing", "id": "1", "name": "n",
                    "meta": {"profile": ["p"], "tag": [bundle.SUBSETTED]}}
    assert bundle.subset(resource, ()) is resource and "tag" not in resource["meta"]


def test_links_repeat_the_query_normalised_and_page_through_it() -> None:
    query = parse("name=a,b&_sort=-name&_count=10&_elements=name")
    page = bundle.PageInfo(offset=10, count=10, total=35, has_more=True)
    links = {link["relation"]: dict(parse_qsl(urlsplit(link["url"]).query))
             for link in bundle.links(query, page, "https://x/fhir/Thing", max_offset=10_000)}
    assert links["self"] == {"name": "a,b", "_sort": "-name", "_elements": "name", "_count": "10", "_offset": "10"}
    assert "_offset" not in links["first"] and links["previous"].get("_offset") is None
    assert (links["next"]["_offset"], links["last"]["_offset"]) == ("20", "30")
    counted = bundle.links(parse("name=a&_summary=count"), bundle.PageInfo(0, 0, 3, False), "https://x/fhir/Thing",
                           max_offset=10_000)
    assert [link["relation"] for link in counted] == ["self", "first"] and "_summary=count" in counted[0]["url"]


def test_the_catalogue_holds_every_built_service_and_their_routes_declare_from_it() -> None:
    """Shared finds the declarations by name; each service's FHIR routes use exactly what it declares."""
    from services.cli import registry

    declared = set(capability.catalogue())
    assert {(each.resource, each.interaction) for each in declared} >= {
        ("Practitioner", "search-type"), ("PractitionerRole", "read"), ("Organization", "search-type"),
        ("Communication", "create")}
    for name in registry.available():
        service = registry.load(name)
        routes = {entrypoint.fhir for attribute in dir(service)
                  for entrypoint in getattr(getattr(service, attribute), "nameko_entrypoints", ())
                  if getattr(entrypoint, "fhir", None) is not None}
        assert routes and routes <= declared, name


def test_the_statement_names_the_software_version() -> None:
    import importlib.metadata

    statement = capability.capability_statement([], "https://x/fhir")
    assert statement["software"] == {"name": "Maillage", "version": importlib.metadata.version("maillage")}
    assert {r["type"] for r in statement["rest"][0]["resource"]} >= {"Practitioner", "Communication"}


@pytest.mark.parametrize("value", [
    "9999", "9999-12", "9999-12-31", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59-14:00", "le9999-12-31T23:59:59.123456789Z", "0001", "0001-01-01T00:00:00+14:00",
])
def test_dates_at_the_ends_of_the_calendar_are_served_or_refused_never_crash(value: str) -> None:
    """Year 9999's end (year 10000) cannot be a datetime: it was an OverflowError, a 500 on every search."""
    served_or_refused(value)


def served_or_refused(value: str) -> None:
    """A range that runs forward, or a refusal naming the parameter: never another exception."""
    try:
        found = date_range("_lastUpdated", value, None)
    except Invalid as refused:
        assert refused.expression == "_lastUpdated"
    else:
        assert found.low <= found.high


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"(eq|ne|gt|lt|ge|le|sa|eb)?[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}"
                     r"(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?", fullmatch=True))
def test_any_value_of_the_date_grammar_is_a_range_or_a_refusal(value: str) -> None:
    served_or_refused(value)
