"""Links in directory search results come from the platform's own base URL, never from the Host header."""
from __future__ import annotations

import pytest

from tests.integration.directory.conftest import Directory

pytestmark = pytest.mark.integration


def test_a_forged_host_does_not_reach_bundle_links_or_full_urls(directory: Directory) -> None:
    with directory.client() as client:
        response = client.get("/fhir/Practitioner", params={"family": "martin", "_count": "1"},
                              headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200
    bundle = response.json()
    urls = [link["url"] for link in bundle["link"]] + [entry["fullUrl"] for entry in bundle.get("entry", [])]
    assert bundle.get("entry") and len(urls) >= 2
    for url in urls:
        assert url.startswith(f"{directory.base_url}/fhir/") and "evil" not in url
