"""The directory started as a user starts it (`maillage up --only directory`), fed by `maillage directory import`,
then driven over HTTP and watched on AMQP only."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.directory.synth import write_extract
from services.shared.auth import DevIssuer
from services.shared.bus.schemas import validate_event_body
from tests.integration.directory.conftest import Observer, free_port
from tests.support.broker import isolated_vhost
from tests.unit.directory.directory_world import HELENE, JEANNE, enrolment_form, write_known

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def maillage(*args: str, env: dict[str, str], **options: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=REPO, env=env, **options)


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "maillage up exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "maillage up did not become ready"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    var_dir = tmp_path_factory.mktemp("var")
    port = free_port()
    with isolated_vhost("maillage-e2e-directory") as uri:
        env = {**os.environ, "AMQP_URI": uri, "MAILLAGE_VAR_DIR": str(var_dir), "MAILLAGE_ENV": "test",
               "MAILLAGE_HTTP_ADDRESS": f"127.0.0.1:{port}", "MAILLAGE_LOG_LEVEL": "ERROR"}
        up = maillage("up", "--only", "directory", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, up)
            yield {"base": base, "uri": uri, "env": env, "var": var_dir, "issuer": DevIssuer(var_dir)}
        finally:
            up.send_signal(signal.SIGTERM)
            assert up.wait(timeout=60) == 0, "maillage up did not stop cleanly on SIGTERM"


def client(platform: dict[str, Any], **claims: Any) -> httpx.Client:
    token = platform["issuer"].mint(**claims)
    return httpx.Client(base_url=platform["base"], headers={"Authorization": f"Bearer {token}"}, timeout=30)


def eventually(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "the expected state was not reached"
        time.sleep(0.1)
    return result


def test_import_then_search_and_enrol_over_http(platform: dict[str, Any], tmp_path: Path) -> None:
    command = maillage("directory", "import", "--help", env=platform["env"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if command.wait(timeout=60) != 0:
        pytest.skip("`maillage directory import` is not available yet (services/directory/cli.py)")
    extract = tmp_path / "PS_LibreAcces_Personne_activite_e2e.txt"
    write_extract(extract, 3000, seed=11)
    write_known(extract)
    imported = maillage("directory", "import", str(extract), env=platform["env"], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
    out, err = imported.communicate(timeout=300)
    assert imported.returncode == 0, err.decode(errors="replace")
    observer = Observer(platform["uri"], "professional.*", "directory.*")

    with client(platform, rpps=HELENE.rpps) as helene:
        found = helene.get("/fhir/Practitioner", params={"identifier": f"https://rpps.esante.gouv.fr|{JEANNE.rpps}"})
        assert found.status_code == 200 and found.json()["entry"][0]["resource"]["name"][0]["family"] == "MARTIN"
        near = helene.get("/fhir/Practitioner", params={"family": "MARTIN", "address-postalcode": "75011"}).json()
        assert f"8{JEANNE.rpps}" in [entry["resource"]["id"] for entry in near["entry"]]
        assert eventually(lambda: helene.get("/fhir/PractitionerRole", params={
            "address-city": "montpellier", "_count": 0}).json()["total"] >= 1)  # refreshed on directory.imported
        enrolled = helene.post("/api/v1/enrolments", json=enrolment_form(HELENE))
        assert enrolled.status_code == 201, enrolled.text

    events: list[dict[str, Any]] = []
    eventually(lambda: events.extend(observer.drain()) or "professional.enrolled" in {e["type"] for e in events})
    for event in events:
        if event["type"] == "professional.enrolled":
            validate_event_body(event["type"], event)
            assert event["data"]["rpps"] == HELENE.rpps
    observer.close()


def test_metadata_lists_exactly_the_directory_interactions(platform: dict[str, Any]) -> None:
    statement = httpx.get(f"{platform['base']}/fhir/metadata", timeout=10).json()
    declared = {r["type"]: ([i["code"] for i in r["interaction"]], sorted(p["name"] for p in r["searchParam"]))
                for r in statement["rest"][0]["resource"]}
    assert declared == {
        "Practitioner": (["read", "search-type"], sorted([
            "identifier", "family", "given", "name", "active", "mailbox-mss", "qualification-code",
            "address-postalcode"])),
        "PractitionerRole": (["read", "search-type"], sorted([
            "practitioner", "organization", "role", "specialty", "address-postalcode", "address-city",
            "mailbox-mss"])),
        "Organization": (["read", "search-type"], sorted([
            "identifier", "name", "type", "address-postalcode", "address-city", "partof"])),
    }
    assert httpx.get(f"{platform['base']}/readyz", timeout=10).status_code == 200
    assert json.loads(httpx.get(f"{platform['base']}/readyz", timeout=10).text)["status"] == "pass"
