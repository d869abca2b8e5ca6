"""Off-the-shelf FHIR clients against the running platform: fhirpy (its sync client) and fhirclient search
the imported directory as they would any FHIR server (the platform: tests/e2e/conftest.py)."""
from __future__ import annotations

from typing import Any

import pytest

from services.directory.domain.names import normalise
from tests.e2e.conftest import Platform
from tests.unit.directory.directory_world import JEANNE

pytestmark = pytest.mark.e2e


def fhirpy_client(platform: Platform) -> Any:
    from fhirpy import SyncFHIRClient

    token = platform.issuer.mint(rpps=JEANNE.rpps)
    return SyncFHIRClient(f"{platform.base}/fhir", authorization=f"Bearer {token}")


def test_fhirpy_searches_pages_counts_sorts_and_posts(imported: Platform) -> None:
    from fhirpy.base.exceptions import OperationOutcome

    client = fhirpy_client(imported)
    practitioners = client.resources("Practitioner")
    martins = practitioners.search(family="martin")

    total = martins.count()  # _count=0 (and fhirpy's _totalMethod=count)
    assert total > 5
    assert client.resources("Practitioner").search(family="martin").fetch_raw().total == total
    summary = client.execute("Practitioner", method="get", params={"family": "martin", "_summary": "count"})
    assert summary["total"] == total and not summary.get("entry")

    every = martins.limit(2).fetch_all()  # follows the bundle's next links, two at a time
    assert len(every) == total and len({p.id for p in every}) == total

    jeanne = practitioners.search(_id=f"8{JEANNE.rpps}").get()
    assert jeanne["name"][0]["family"] == "MARTIN"
    assert client.reference("Practitioner", f"8{JEANNE.rpps}").to_resource()["id"] == jeanne.id
    by_rpps = practitioners.search(identifier=f"https://rpps.esante.gouv.fr|{JEANNE.rpps}").first()
    assert by_rpps is not None and by_rpps.id == jeanne.id

    forward = [p.id for p in martins.sort("given").limit(100).fetch()]
    backward = [p.id for p in martins.sort("-given").limit(100).fetch()]
    assert sorted(forward) == sorted(backward) and forward != backward
    given = [normalise(p["name"][0]["given"][0]) for p in martins.sort("-given").limit(100).fetch()]
    assert given == sorted(given, reverse=True)  # accent- and case-blind, as the search compares

    slim = practitioners.search(_id=f"8{JEANNE.rpps}").elements("name").fetch()[0]
    assert "qualification" not in slim and slim["name"][0]["family"] == "MARTIN"

    # POST [type]/_search, fhirpy's way: the parameters on the URL, no body
    posted = practitioners.execute("_search", method="post", params={"family": "martin", "_count": 3})
    assert posted["resourceType"] == "Bundle" and posted["total"] == total and len(posted["entry"]) == 3

    with pytest.raises(OperationOutcome):
        practitioners.search(colour="blue").fetch()


def test_fhirclient_reads_the_statement_and_searches(imported: Platform) -> None:
    import requests
    from fhirclient import server as fhir_server
    from fhirclient.models.bundle import Bundle
    from fhirclient.models.capabilitystatement import CapabilityStatement
    from fhirclient.models.practitioner import Practitioner

    statement = CapabilityStatement(requests.get(f"{imported.base}/fhir/metadata", timeout=30).json())
    assert statement.software.version and statement.fhirVersion == "4.0.1"
    listed = {resource.type for resource in statement.rest[0].resource}
    assert {"Practitioner", "PractitionerRole", "Organization", "Communication"} <= listed

    token = imported.issuer.mint(rpps=JEANNE.rpps)
    server = fhir_server.FHIRServer(None, base_uri=f"{imported.base}/fhir/")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    server.session = session
    search = Practitioner.where(struct={"family": "martin", "_sort": "-family", "_count": "2"})
    bundle = search.perform(server)
    assert isinstance(bundle, Bundle) and bundle.total > 2 and len(bundle.entry) == 2
    assert any(link.relation == "next" for link in bundle.link)
    jeanne = Practitioner.read(f"8{JEANNE.rpps}", server)
    assert jeanne.name[0].family == "MARTIN"
