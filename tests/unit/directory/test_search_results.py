"""Searches against a seeded directory: what matches, in which order, on which page, shaped as FR profiles."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle

from services.directory.adapters.fhir_bundle import searchset
from services.directory.adapters.fhir_params import PARAMS, parse_search
from services.directory.adapters.fhir_resources import resource_of, role_id
from services.directory.domain.errors import UnknownResource
from services.directory.domain.search import Resource
from services.directory.handlers import search as handlers
from tests.unit.directory.directory_world import (
    CAB_BOX,
    HELENE,
    HOSPITAL_FINESS,
    JEANNE,
    JEANNE_BOX,
    LUC,
    PAUL,
    PHARMACY_FINESS,
    World,
)

P, R, ORG = Resource.PRACTITIONER, Resource.ROLE, Resource.ORGANIZATION
BASE = "https://maillage.test/fhir"


def bundle(world: World, resource: Resource, query: str, lenient: bool = False) -> dict[str, Any]:
    search = parse_search(resource, parse_qsl(query), lenient=lenient)
    result = searchset(search, handlers.search(search, read=world.read), BASE, resource_of)
    Bundle.model_validate(result)  # a valid FHIR (R4B, same as R4 for these resources) searchset
    return result


def ids(result: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in result.get("entry", []) if e["search"]["mode"] == mode]


def link(result: dict[str, Any], relation: str) -> str | None:
    return next((item["url"] for item in result["link"] if item["relation"] == relation), None)


def follow(url: str) -> str:
    return urlsplit(url).query


@pytest.mark.parametrize("query", [
    "identifier=https://rpps.esante.gouv.fr|10001045367", "identifier=urn:oid:1.2.250.1.71.4.2.1|810001045367",
    "identifier=10001045367", "identifier=810001045367",
])
def test_identifier_finds_the_one_practitioner(shared_world: World, query: str) -> None:
    result = bundle(shared_world, P, query)
    assert (result["total"], ids(result)) == (1, ["8" + JEANNE.rpps])


def test_a_practitioner_as_the_french_profiles_shape_it(shared_world: World) -> None:
    [entry] = bundle(shared_world, P, "identifier=10001045367")["entry"]
    resource = entry["resource"]
    assert entry["fullUrl"] == f"{BASE}/Practitioner/810001045367"
    assert resource["meta"]["profile"][1].endswith("/as-dp-practitioner")
    assert [(i["type"]["coding"][0]["code"], i["system"], i["value"]) for i in resource["identifier"]] == [
        ("IDNPS", "urn:oid:1.2.250.1.71.4.2.1", "810001045367"), ("RPPS", "https://rpps.esante.gouv.fr", JEANNE.rpps)]
    assert resource["name"] == [{"use": "official", "family": "MARTIN", "given": ["Jeanne"], "prefix": ["Dr"]}]
    assert [q["code"]["coding"][0]["code"] for q in resource["qualification"]] == ["10", "SM53"]
    assert {t["value"] for t in resource["telecom"]} == {JEANNE_BOX, CAB_BOX}
    assert resource["telecom"][0]["extension"][0]["valueCoding"]["code"] == "MSSANTE"


@pytest.mark.parametrize("query, expected", [
    ("family=lefevre d", HELENE), ("family=LEFÈVRE-D'É", HELENE), ("family:exact=LEFÈVRE-D'ÉTÉ", HELENE),
    ("given=helene&family=lef", HELENE), ("name=zylber", LUC), ("name=Luc&family=zyl", LUC),
    ("mailbox-mss=paul.durand@", PAUL), ("mailbox-mss:exact=PAUL.DURAND@medecin.mssante.fr", PAUL),
])
def test_string_search_is_an_accent_and_case_blind_prefix(shared_world: World, query: str, expected: Any) -> None:
    assert ids(bundle(shared_world, P, query)) == ["8" + expected.rpps]


def test_exact_means_exact(shared_world: World) -> None:
    assert bundle(shared_world, P, "family:exact=Lefèvre-d'Été")["total"] == 0
    assert bundle(shared_world, P, "family:exact=LEFÈVRE-D'ÉT")["total"] == 0
    assert bundle(shared_world, P, "family=lefevre")["total"] > bundle(shared_world, P, "family:exact=LEFÈVRE")["total"]


def test_family_and_postal_code_and_qualification(shared_world: World) -> None:
    found = ids(bundle(shared_world, P, "family=martin&address-postalcode=75011&_count=100"))
    assert "8" + JEANNE.rpps in found
    assert ids(bundle(shared_world, P, "family=martin&address-postalcode=34000")) == ["8" + JEANNE.rpps]
    cardiology = "qualification-code=https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/" \
                 "TRE-R38-SpecialiteOrdinale|SM04&family=durand&given=paul"
    assert ids(bundle(shared_world, P, cardiology)) == ["8" + PAUL.rpps]


def test_roles_by_practitioner_with_both_includes(shared_world: World) -> None:
    result = bundle(shared_world, R, f"practitioner=Practitioner/8{JEANNE.rpps}&_include=PractitionerRole:practitioner"
                                     "&_include=PractitionerRole:organization")
    assert result["total"] == 2 and len(ids(result)) == 2
    assert sorted(ids(result, "include")) == sorted(["8" + JEANNE.rpps, "C79427768100019", f"F{HOSPITAL_FINESS}"])
    role = result["entry"][0]["resource"]
    assert role["practitioner"] == {"reference": f"Practitioner/8{JEANNE.rpps}"}
    assert role["contained"][0]["resourceType"] == "Location" and role["location"] == [{"reference": "#site"}]


def test_roles_by_place_and_specialty(shared_world: World) -> None:
    montpellier = bundle(shared_world, R, "address-city=MONTPEL&address-postalcode=34000&_count=100")
    assert {"8" + JEANNE.rpps, "8" + LUC.rpps} <= {r.rsplit("-", 1)[0] for r in ids(montpellier)}
    gp = ids(bundle(shared_world, R, f"specialty=SM53&organization=Organization/F{HOSPITAL_FINESS}"))
    assert [r.rsplit("-", 1)[0] for r in gp] == ["8" + JEANNE.rpps]
    assert bundle(shared_world, R, f"mailbox-mss={CAB_BOX}&organization=C79427768100019")["total"] == 2


def test_organisations_by_identifier_name_type_and_partof(shared_world: World) -> None:
    for query in (f"identifier={PHARMACY_FINESS}", "identifier=urn:oid:1.2.250.1.71.4.2.2|1" + PHARMACY_FINESS,
                  "name=pharmacie de l'eglise&address-city=montpellier"):
        assert ids(bundle(shared_world, ORG, query)) == [f"F{PHARMACY_FINESS}"], query
    assert ids(bundle(shared_world, ORG, "identifier=https://sirene.fr|79427768100019")) == ["C79427768100019"]
    assert ids(bundle(shared_world, ORG, f"partof=Organization/F{HOSPITAL_FINESS}&type=pharmacy")) == [
        f"F{PHARMACY_FINESS}"]
    by_identifier = bundle(shared_world, ORG, f"partof:identifier=https://finess.esante.gouv.fr|{HOSPITAL_FINESS}")
    assert f"F{PHARMACY_FINESS}" in ids(by_identifier)
    [pharmacy] = bundle(shared_world, ORG, f"identifier={PHARMACY_FINESS}")["entry"]
    assert pharmacy["resource"]["partOf"]["identifier"]["value"] == HOSPITAL_FINESS


def test_pages_cover_every_match_once_in_a_stable_order(shared_world: World) -> None:
    everything = bundle(shared_world, P, "family=ma&_count=100")
    total = everything["total"]
    assert 40 < total <= 100
    seen, query = [], "family=ma&_count=7"
    while query:
        page = bundle(shared_world, P, query)
        assert page["total"] == total and len(ids(page)) <= 7
        seen += ids(page)
        query = follow(link(page, "next")) if link(page, "next") else ""
    assert seen == ids(everything)


def test_count_one_last_page_and_past_the_end(shared_world: World) -> None:
    first = bundle(shared_world, P, "family=martin&_count=1")
    total = first["total"]
    assert len(ids(first)) == 1 and link(first, "previous") is None and link(first, "next")
    last = bundle(shared_world, P, follow(link(first, "last") or ""))
    assert len(ids(last)) == 1 and link(last, "next") is None and link(last, "previous")
    beyond = bundle(shared_world, P, f"family=martin&_count=1&_offset={total + 5}")
    assert beyond["total"] == total and "entry" not in beyond and link(beyond, "next") is None
    assert f"_offset={total - 1}" in (link(beyond, "previous") or "")


def test_total_none_and_count_zero(shared_world: World) -> None:
    no_total = bundle(shared_world, P, "family=martin&_total=none&_count=1")
    assert "total" not in no_total and link(no_total, "next") and "_total=none" in link(no_total, "next")
    only_total = bundle(shared_world, P, "family=martin&_count=0")
    assert only_total["total"] > 1 and "entry" not in only_total


def test_lenient_bundle_says_what_it_ignored(shared_world: World) -> None:
    result = bundle(shared_world, P, "identifier=10001045367&colour=blue", lenient=True)
    assert ids(result) == ["8" + JEANNE.rpps]
    outcome = result["entry"][-1]
    assert outcome["search"]["mode"] == "outcome"
    assert outcome["resource"]["issue"][0]["expression"] == ["colour"]


def test_reads_by_id(shared_world: World) -> None:
    assert handlers.read_practitioner("8" + PAUL.rpps, read=shared_world.read).family == "DURAND"
    assert handlers.read_organisation(f"F{HOSPITAL_FINESS}", read=shared_world.read).name == "HÔPITAL SAINT-ÉLOI"
    role = handlers.search(parse_search(R, [("practitioner", "8" + LUC.rpps)]), read=shared_world.read).items[0]
    assert handlers.read_role(role_id(role.idnps, role.ref), read=shared_world.read) == role
    for read, missing in ((handlers.read_practitioner, "899999999999"), (handlers.read_role, "8" + LUC.rpps + "-0"),
                          (handlers.read_organisation, "Fnothing")):
        with pytest.raises(UnknownResource):
            read(missing, read=shared_world.read)


@pytest.mark.parametrize("query", [
    "given=helene", "name=zylber", "family=martin", "identifier=10001045367", "family=martin&address-postalcode=75011",
    "mailbox-mss=paul.durand@", "qualification-code=SM04&family=durand",
])
def test_practitioner_searches_use_an_index(shared_world: World, query: str) -> None:
    """No search of the national directory reads the whole professional table (SQLite's plan)."""
    from services.directory.adapters.search_query import _PLAIN, conditions

    statement = _PLAIN[P].where(*conditions(parse_search(P, parse_qsl(query)))).limit(21)
    compiled = statement.compile(shared_world.engine, compile_kwargs={"literal_binds": True})
    with shared_world.engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    assert not [step for step in plan if step.startswith("SCAN professional")], plan


def test_the_remaining_parameters_each_filter(shared_world: World) -> None:
    """active, address-postalcode alone, role, and Organization's postal code and name: the issue's list."""
    jeanne = f"identifier={JEANNE.rpps}"
    assert ids(bundle(shared_world, P, f"{jeanne}&active=true")) == ["8" + JEANNE.rpps]
    assert bundle(shared_world, P, f"{jeanne}&active=false")["total"] == 0
    near = ids(bundle(shared_world, P, "address-postalcode=34000&_count=100"))
    assert {"8" + JEANNE.rpps, "8" + LUC.rpps} <= set(near) and "8" + HELENE.rpps not in near
    pharmacists = ids(bundle(shared_world, R, "role=21&address-postalcode=34000&_count=100"))
    assert pharmacists and all(r.rsplit("-", 1)[0] != "8" + JEANNE.rpps for r in pharmacists)
    assert "8" + LUC.rpps in {r.rsplit("-", 1)[0] for r in pharmacists}
    in_34000 = ids(bundle(shared_world, ORG, "address-postalcode=34000&_count=100"))
    assert {f"F{HOSPITAL_FINESS}", f"F{PHARMACY_FINESS}"} <= set(in_34000)
    assert ids(bundle(shared_world, ORG, "name=hopital saint&address-postalcode=34000")) == [f"F{HOSPITAL_FINESS}"]


def test_previous_and_next_links_walk_back_to_the_first_page(shared_world: World) -> None:
    first = bundle(shared_world, P, "family=ma&_count=5")
    second = bundle(shared_world, P, follow(link(first, "next") or ""))
    assert ids(second) and not set(ids(second)) & set(ids(first))
    back = bundle(shared_world, P, follow(link(second, "previous") or ""))
    assert ids(back) == ids(first) and link(back, "previous") is None
    assert follow(link(first, "first") or "") == follow(link(back, "first") or "")
    total = first["total"]
    last = bundle(shared_world, P, follow(link(first, "last") or ""))
    assert len(ids(last)) == total - (total - 1) // 5 * 5 and link(last, "next") is None


@pytest.mark.parametrize("paging", ["", "&_count=1", "&_count=1&_offset=1", "&_count=0", "&_total=none&_count=1",
                                    "&_offset=5"])
def test_a_search_by_identifier_alone_answers_as_the_general_path(shared_world: World, paging: str) -> None:
    """Identifier-only searches take a shortcut (search_query._by_identifier): same entries, links, total."""
    several = f"identifier={JEANNE.rpps},{PAUL.rpps},8{LUC.rpps},{HELENE.rpps}"
    for query in (several, f"{several}&identifier={PAUL.rpps},{LUC.rpps}", f"identifier={JEANNE.rpps}"):
        short = bundle(shared_world, P, query + paging)
        general = bundle(shared_world, P, query + "&active=true" + paging)  # everyone here is active
        assert ids(short) == ids(general) and short.get("total") == general.get("total"), query + paging
        assert [(k["relation"], k["url"].replace("&active=true", "")) for k in general["link"]] == [
            (k["relation"], k["url"]) for k in short["link"]]
    assert ids(bundle(shared_world, P, f"identifier={JEANNE.rpps}&identifier={PAUL.rpps}")) == []


# Hostile searches: the bounds let every accepted search run on both backends, and one that runs too long stops.
def test_the_most_alternatives_a_search_may_ask_run(shared_world: World) -> None:
    from services.directory.domain.search import MAX_ALTERNATIVES, MAX_TERMS

    many = ",".join(f"a{i}" for i in range(MAX_ALTERNATIVES))
    result = bundle(shared_world, P, f"family={many}&name={many}&_total=accurate")
    assert result["total"] >= 0 and 2 * MAX_ALTERNATIVES <= MAX_TERMS
    places = ",".join(f"750{i:02d}" for i in range(MAX_ALTERNATIVES))
    assert bundle(shared_world, R, f"address-postalcode={places}&address-city={many}")["type"] == "searchset"


def test_a_search_past_its_budget_stops_as_too_costly_and_leaves_the_connection_clean(shared_world: World) -> None:
    from services.directory.domain.search import SearchTooCostly

    search = parse_search(P, parse_qsl("name=a,b,c,d,e,j,l,m,p&_total=accurate&_count=100"))
    with pytest.raises(SearchTooCostly) as caught:
        handlers.search(search, read=shared_world.read, budget_seconds=0)
    assert (caught.value.status, caught.value.code) == (503, "too-costly")
    assert handlers.search(search, read=shared_world.read).total  # the pool's connection has no handler left
    generous = handlers.search(search, read=shared_world.read, budget_seconds=60)
    assert generous.total


def test_no_link_leads_past_the_deepest_offset(shared_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.directory.adapters import fhir_bundle, search_query
    from services.directory.domain.views import Page

    monkeypatch.setattr(search_query, "MAX_OFFSET", 10)
    assert link(bundle(shared_world, P, "family=m&_count=5&_offset=5"), "next")
    assert link(bundle(shared_world, P, "family=m&_count=5&_offset=10"), "next") is None
    assert link(bundle(shared_world, P, "identifier=10001045367,10000023084&_count=1&_offset=10"), "next") is None
    search = parse_search(P, parse_qsl("family=m&_count=20"))
    links = fhir_bundle.links(search, Page((), 0, 20, 1_000_000, True), BASE)
    last = next(item["url"] for item in links if item["relation"] == "last")
    assert int(dict(parse_qsl(urlsplit(last).query))["_offset"]) == 10_000


QUERY_KEYS = sorted({param.name for params in PARAMS.values() for param in params} | {
    "_count", "_offset", "_total", "_include", "_format", "_sort", "family:exact", "name:contains",
    "partof:identifier", "practitioner:Practitioner", "identifier:of-type"})
GOOD_VALUES = ["10001045367", "810001045367", "750000010", "martin", "75011", "Paris", "true", "SM53", "10",
               "Practitioner/810001045367", "Organization/F750000010", "PractitionerRole:practitioner",
               "https://rpps.esante.gouv.fr|10001045367", "https://finess.esante.gouv.fr|750000010",
               "urn:oid:1.2.250.1.71.4.2.2|1750000010", "accurate", "none", "json"]


def _values() -> Any:
    from hypothesis import strategies as st

    piece = st.one_of(st.sampled_from(GOOD_VALUES), st.text(max_size=40),
                      st.integers(min_value=-1, max_value=10**30).map(str),
                      st.text(alphabet="0123456789²³¹٣٤۵߁०१௧", min_size=1, max_size=25))
    return st.lists(piece, min_size=1, max_size=60).map(",".join) | piece


def test_random_query_strings_give_a_bundle_or_a_400(shared_world: World) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from services.shared.errors import MaillageError

    pairs = st.lists(st.tuples(st.sampled_from(QUERY_KEYS) | st.text(max_size=20), _values()), max_size=35)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(resource=st.sampled_from(list(Resource)), args=pairs, lenient=st.booleans())
    def check(resource: Resource, args: list[tuple[str, str]], lenient: bool) -> None:
        try:
            search = parse_search(resource, args, lenient=lenient)
        except MaillageError as refused:
            assert refused.status == 400 and refused.code in ("invalid", "too-costly")
            assert refused.expression is not None
            return
        result = searchset(search, handlers.search(search, read=shared_world.read, budget_seconds=30), BASE,
                           resource_of)
        assert result["type"] == "searchset"

    check()


@pytest.mark.parametrize("resource_id", ["a\x00b", "8" + "1" * 100, "été", "a b", "", "a/b"])
def test_an_id_that_cannot_exist_is_not_found_before_any_query(resource_id: str) -> None:
    def no_database() -> Any:
        raise AssertionError("an impossible id reached the database")

    for read in (handlers.read_practitioner, handlers.read_role, handlers.read_organisation):
        with pytest.raises(UnknownResource) as caught:
            read(resource_id, read=no_database)
        assert caught.value.expression == "id" and (not resource_id or resource_id not in caught.value.message)


def _families(result: dict[str, Any]) -> list[str]:
    return [e["resource"]["name"][0]["family"] for e in result.get("entry", []) if e["search"]["mode"] == "match"]


def test_sort_orders_on_the_indexed_fields_and_pages_follow_it(shared_world: World) -> None:
    from services.directory.domain.names import normalise

    ascending = bundle(shared_world, P, "family=ma&_sort=family&_count=100")
    descending = bundle(shared_world, P, "family=ma&_sort=-family&_count=100")
    keys = [normalise(family) for family in _families(descending)]
    assert keys == sorted(keys, reverse=True) and keys[0] > keys[-1]
    assert ids(ascending) == ids(bundle(shared_world, P, "family=ma&_count=100"))  # family is the default order
    assert sorted(ids(descending)) == sorted(ids(ascending))
    seen, query = [], "family=ma&_sort=-family,given&_count=9"
    while query:
        page = bundle(shared_world, P, query)
        assert "_sort=-family,given" in (link(page, "self") or "")
        seen += ids(page)
        query = follow(link(page, "next")) if link(page, "next") else ""
    assert sorted(seen) == sorted(ids(ascending)) and len(set(seen)) == len(seen)
    names = [e["resource"]["name"] for e in bundle(shared_world, ORG, "name=h&_sort=-name")["entry"]]
    assert names == sorted(names, reverse=True)
    by_id = ids(bundle(shared_world, P, "family=m&_sort=_id&_count=100"))
    assert by_id == sorted(by_id)
    roles = bundle(shared_world, R, "address-postalcode=75011&_sort=-address-postalcode,practitioner&_count=100")
    assert sorted(ids(roles)) == sorted(ids(bundle(shared_world, R, "address-postalcode=75011&_count=100")))
    assert 0 < len(ids(roles)) == roles["total"]


def test_id_finds_each_resource_as_its_read_does(shared_world: World) -> None:
    both = f"_id=8{JEANNE.rpps},8{PAUL.rpps}"
    assert ids(bundle(shared_world, P, both)) == [f"8{PAUL.rpps}", f"8{JEANNE.rpps}"]  # DURAND, MARTIN
    assert ids(bundle(shared_world, P, both + "&_sort=-given")) == [f"8{PAUL.rpps}", f"8{JEANNE.rpps}"]
    assert ids(bundle(shared_world, P, both + "&_sort=given")) == [f"8{JEANNE.rpps}", f"8{PAUL.rpps}"]
    assert ids(bundle(shared_world, P, f"_id=8{JEANNE.rpps}&family=durand")) == []
    assert ids(bundle(shared_world, ORG, f"_id=F{HOSPITAL_FINESS}")) == [f"F{HOSPITAL_FINESS}"]
    roles = ids(bundle(shared_world, R, f"practitioner=Practitioner/8{JEANNE.rpps}"))
    assert len(roles) >= 2
    assert ids(bundle(shared_world, R, f"_id={roles[1]}")) == [roles[1]]
    assert ids(bundle(shared_world, R, f"_id={roles[0]},{roles[1]}&_count=1&_offset=1")) == [roles[1]]
    assert bundle(shared_world, R, f"_id={roles[0]}x")["total"] == 0


def test_last_updated_filters_on_what_meta_last_updated_shows(shared_world: World) -> None:
    [jeanne] = bundle(shared_world, P, f"_id=8{JEANNE.rpps}")["entry"]
    moment = jeanne["resource"]["meta"]["lastUpdated"]  # seconds, Z
    day = moment[:10]
    assert ids(bundle(shared_world, P, f"_id=8{JEANNE.rpps}&_lastUpdated={moment}")) == [f"8{JEANNE.rpps}"]
    assert ids(bundle(shared_world, P, f"_id=8{JEANNE.rpps}&_lastUpdated=ge{day}")) == [f"8{JEANNE.rpps}"]
    assert ids(bundle(shared_world, P, f"_id=8{JEANNE.rpps}&_lastUpdated=gt{day}")) == []
    assert ids(bundle(shared_world, P, f"_id=8{JEANNE.rpps}&_lastUpdated=lt{day}")) == []
    assert ids(bundle(shared_world, P, f"_id=8{JEANNE.rpps}&_lastUpdated=ne{moment}")) == []
    everyone = bundle(shared_world, ORG, "_count=0")["total"]
    assert bundle(shared_world, ORG, "_lastUpdated=le2999&_count=0")["total"] == everyone > 0
    assert bundle(shared_world, R, "_lastUpdated=eb2000&_count=0")["total"] == 0


def test_summary_count_and_elements(shared_world: World) -> None:
    counted = bundle(shared_world, P, "family=martin&_summary=count")
    assert counted["total"] == bundle(shared_world, P, "family=martin")["total"] > 1 and "entry" not in counted
    assert [item["relation"] for item in counted["link"]] == ["self", "first"]
    subset = bundle(shared_world, P, f"_id=8{JEANNE.rpps}&_elements=name")["entry"][0]["resource"]
    assert set(subset) == {"resourceType", "id", "meta", "name"}
    assert subset["meta"]["tag"][0]["code"] == "SUBSETTED"
