"""The shared HTTP edge: two nameko services on one port, with FHIR and problem+json errors."""
from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import eventlet
import httpx
import pydantic
import pytest
from nameko.exceptions import ConfigurationError
from nameko.runners import ServiceRunner

from services.shared.auth import DevIssuer
from services.shared.errors import Forbidden
from services.shared.fhir import capability as fhir_capability
from services.shared.readiness import unregister_check
from services.shared.settings import Settings
from services.shared.web import (
    ApiOperation,
    FhirInteraction,
    SearchParam,
    http,
    read_json,
    register_check,
)
from tests.support.platform import eventually, free_port

pytestmark = pytest.mark.integration
FHIR_JSON = "application/fhir+json; charset=utf-8"


class Recipient(pydantic.BaseModel):
    address: str


class SendMessage(pydantic.BaseModel):
    subject: str
    recipients: list[Recipient]


class DirectoryEdge:
    name = "test_directory_edge"

    @http("GET", "/fhir/Practitioner", fhir=FhirInteraction(
        "Practitioner", "search-type", (SearchParam("name", "string"),)))
    def search_practitioners(self, request):
        name = request.args.get("name", "")
        if name == "boom":
            raise RuntimeError("internal detail that must stay in the log")
        if name == "forbidden":
            raise Forbidden("Only CPTS members may search the directory.")
        return 200, {"resourceType": "Bundle", "type": "searchset", "total": 0}


class MessagingEdge:
    name = "test_messaging_edge"

    @http("POST", "/api/v1/messages", max_body_bytes=2048, api=ApiOperation(
        "Send a message", request_schema=SendMessage.model_json_schema(), responses={201: "Accepted"}))
    def send_message(self, request):
        command = read_json(request, model=SendMessage)
        return 201, {"subject": command.subject, "sender": request.principal.subject}

    @http("GET", "/api/v1/ping", public=True)
    def ping(self, request):
        return {"pong": True}


def start_runner(var_dir: Path) -> tuple[ServiceRunner, str]:
    port = free_port()
    settings = Settings(environment="test", var_dir=var_dir, http_address=f"127.0.0.1:{port}")
    runner = ServiceRunner({"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/", "MAILLAGE_SETTINGS": settings})
    runner.add_service(DirectoryEdge)
    runner.add_service(MessagingEdge)
    runner.start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> Iterator[tuple[str, DevIssuer]]:
    var_dir = tmp_path_factory.mktemp("var")
    runner, base = start_runner(var_dir)
    try:
        yield base, DevIssuer(var_dir)
    finally:
        runner.kill()


@pytest.fixture
def client(edge) -> Iterator[httpx.Client]:
    base, issuer = edge
    headers = {"Authorization": f"Bearer {issuer.mint(service='test-suite')}"}
    with httpx.Client(base_url=base, headers=headers) as client:
        yield client


def test_both_services_answer_on_the_one_port(client):
    search = client.get("/fhir/Practitioner", params={"name": "Martin"})
    assert (search.status_code, search.headers["content-type"]) == (200, FHIR_JSON)
    assert search.json()["resourceType"] == "Bundle"
    sent = client.post("/api/v1/messages", json={"subject": "Sortie", "recipients": [{"address": "a@b"}]})
    assert (sent.status_code, sent.headers["content-type"]) == (201, "application/json")
    assert sent.json()["subject"] == "Sortie" and sent.json()["sender"]  # the Principal reached the handler


def test_unknown_path_and_wrong_method_are_fhir_under_fhir(client):
    missing = client.get("/fhir/Nothing")
    assert (missing.status_code, missing.headers["content-type"]) == (404, FHIR_JSON)
    assert missing.json()["issue"][0]["code"] == "not-found"
    wrong = client.delete("/fhir/Practitioner")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert wrong.json()["resourceType"] == "OperationOutcome"
    assert wrong.json()["issue"][0]["code"] == "not-supported"


def test_unknown_path_and_wrong_method_are_problems_elsewhere(client):
    missing = client.get("/api/v1/nothing")
    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
    assert missing.json()["status"] == 404 and missing.json()["title"] == "Not Found"
    wrong = client.put("/api/v1/messages", json={})
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
    assert wrong.headers["content-type"] == "application/problem+json"
    assert client.get("/").headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token, reason", [
    (None, "No bearer token"),
    ("expired", "expired"),
    ("foreign", "audience"),
])
def test_bad_credentials_get_401_with_a_bearer_challenge(edge, token, reason):
    base, issuer = edge
    minted = {
        None: None,
        "expired": lambda: issuer.mint(service="t", ttl_seconds=60, now=datetime.now(UTC) - timedelta(hours=2)),
        "foreign": lambda: issuer.mint(service="t", audience="someone-else"),
    }[token]
    headers = {"Authorization": f"Bearer {minted()}"} if minted else {}
    response = httpx.get(f"{base}/fhir/Practitioner", headers=headers)
    assert (response.status_code, response.reason_phrase) == (401, "Unauthorized")  # not werkzeug's UNAUTHORIZED
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token", error_description="')
    issue = response.json()["issue"][0]
    assert issue["code"] == "login" and reason in issue["diagnostics"]


def test_public_routes_need_no_token(edge):
    assert httpx.get(f"{edge[0]}/api/v1/ping").json() == {"pong": True}


def test_forbidden_maps_to_403_operation_outcome(client):
    response = client.get("/fhir/Practitioner", params={"name": "forbidden"})
    assert response.status_code == 403
    assert response.json()["issue"][0] == {
        "severity": "error", "code": "forbidden", "diagnostics": "Only CPTS members may search the directory.",
    }


def test_malformed_json_is_400_with_an_expression(client):
    response = client.post("/api/v1/messages", content=b'{"subject": ', headers={"Content-Type": "application/json"})
    problem = response.json()
    assert (response.status_code, problem["expression"]) == (400, "body")
    assert "not valid JSON" in problem["detail"] and "line 1" in problem["detail"]


def test_invalid_fields_name_the_first_offending_location(client):
    response = client.post("/api/v1/messages", json={"subject": "x", "recipients": [{}]})
    assert response.status_code == 400
    assert response.json()["expression"] == "recipients[0].address"


def test_wrong_content_type_is_refused(client):
    response = client.post("/api/v1/messages", content=b"subject=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415 and response.json()["expression"] == "Content-Type"


def test_oversized_bodies_are_413_declared_or_chunked(client):
    big = {"subject": "x" * 4096, "recipients": []}
    declared = client.post("/api/v1/messages", json=big)
    assert (declared.status_code, declared.reason_phrase) == (413, "Content Too Large")  # RFC 9110's phrase
    assert declared.json()["title"] == "Content Too Large"
    chunks = iter([b'{"subject": "', b"x" * 4096, b'", "recipients": []}'])
    chunked = client.post("/api/v1/messages", content=chunks, headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413


def test_small_chunked_bodies_are_read(client):
    chunks = iter([b'{"subject": "ok", ', b'"recipients": []}'])
    response = client.post("/api/v1/messages", content=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 201


def test_unexpected_errors_are_500_without_a_stack_trace(client, caplog):
    with caplog.at_level(logging.ERROR):
        response = client.get("/fhir/Practitioner", params={"name": "boom"})
    assert response.status_code == 500
    assert "Traceback" not in response.text and "internal detail" not in response.text
    logged = [r for r in caplog.records if r.name.startswith("services.shared.web") and r.exc_info]
    assert "internal detail" in str(logged[0].exc_info[1])  # the stack trace is in the log instead
    assert logged[0].args[0] in response.json()["issue"][0]["diagnostics"]  # under the same error id


@pytest.fixture
def only_these_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement lists the registered routes and every built service's declarations; these tests run test
    services only, so the declarations are left out (tests/unit/shared/test_fhir_edge.py checks them)."""
    monkeypatch.setattr(fhir_capability, "catalogue", lambda: ())


def test_metadata_lists_exactly_the_registered_interactions(client, only_these_routes):
    statement = client.get("/fhir/metadata").json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["rest"][0]["resource"] == [{
        "type": "Practitioner", "interaction": [{"code": "search-type"}],
        "searchParam": [{"name": "name", "type": "string"}],
    }]


def test_openapi_document_is_valid_and_lists_the_api_routes(client):
    document = client.get("/api/v1/openapi.json").json()
    assert sorted(document["paths"]) == ["/api/v1/messages", "/api/v1/ping"]
    assert document["paths"]["/api/v1/ping"]["get"]["security"] == []
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "pass"}

    def broker_down() -> None:
        raise ConnectionError("cannot reach amqp://guest:s3cret@rabbit:5672/ (password=s3cret)")

    register_check("test.ok", lambda: None)
    try:
        assert client.get("/readyz").status_code == 200
        register_check("test.broker", broker_down)
        response = client.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["test.ok"] == {"status": "pass"}
        assert checks["test.broker"]["status"] == "fail" and "cannot reach" in checks["test.broker"]["reason"]
        assert "s3cret" not in response.text
    finally:
        unregister_check("test.ok")
        unregister_check("test.broker")


def test_metrics_count_requests_by_route_template(client):
    client.get("/fhir/Practitioner", params={"name": "Durand"})
    client.get("/fhir/no/such/thing")
    text = client.get("/metrics").text
    assert 'maillage_http_requests_total{method="GET",route="/fhir/Practitioner",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "/fhir/no/such/thing" not in text
    # The latency histogram is labelled by route template; which bucket a request falls in is bench/'s business.
    latency_count = 'maillage_http_request_duration_seconds_count{method="GET",route="/fhir/Practitioner"}'
    assert latency_count in text


def test_containers_share_the_listener_until_the_last_one_stops(tmp_path, only_these_routes):
    runner, base = start_runner(tmp_path)
    port = int(base.rsplit(":", 1)[1])
    token = DevIssuer(tmp_path).mint(service="t")
    try:
        with pytest.raises(OSError):  # the port is really held, not shared with SO_REUSEPORT
            eventlet.listen(("127.0.0.1", port), reuse_port=False)
        runner.service_map["test_directory_edge"].stop()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            assert client.get("/api/v1/ping").status_code == 200
            assert client.post("/api/v1/messages", json={"subject": "s", "recipients": []}).status_code == 201
            assert client.get("/fhir/Practitioner").status_code == 404
            assert "resource" not in client.get("/fhir/metadata").json()["rest"][0]
        runner.service_map["test_messaging_edge"].stop()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz")
        eventlet.listen(("127.0.0.1", port), reuse_port=False).close()
    finally:
        runner.kill()


def test_killing_containers_withdraws_their_routes_and_frees_the_port(tmp_path):
    runner, base = start_runner(tmp_path)
    port = int(base.rsplit(":", 1)[1])
    try:
        runner.service_map["test_messaging_edge"].kill()
        assert httpx.get(f"{base}/api/v1/ping").status_code == 404
        assert httpx.get(f"{base}/fhir/Practitioner").status_code == 401  # still routed, still guarded
        runner.service_map["test_directory_edge"].kill()
        eventlet.listen(("127.0.0.1", port), reuse_port=False).close()
    finally:
        runner.kill()


class DuplicateDirectory:
    name = "test_duplicate_directory"

    @http("GET", "/fhir/Practitioner")
    def search_again(self, request):
        return {}


def test_two_services_declaring_one_route_fail_to_start(tmp_path):
    port = free_port()
    settings = Settings(environment="test", var_dir=tmp_path, http_address=f"127.0.0.1:{port}")
    runner = ServiceRunner({"MAILLAGE_SETTINGS": settings})
    runner.add_service(DirectoryEdge)
    runner.add_service(DuplicateDirectory)
    try:
        with pytest.raises(ConfigurationError, match="declared by both"):
            runner.start()
    finally:
        runner.kill()
    eventlet.listen(("127.0.0.1", port), reuse_port=False).close()  # the half-started one let go too


def _access_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "maillage.access"]


def test_each_request_writes_one_access_line_with_the_route_template(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/fhir/Practitioner", params={"name": "Dupont", "identifier": "279035121518989"})
    (line,) = _access_lines(caplog)
    assert (line.method, line.route, line.status, line.error) == ("GET", "/fhir/Practitioner", 200, None)
    took = line.duration_ms
    assert isinstance(took, float)  # a figure is written; its value is not judged here
    assert line.request_id == response.headers["x-request-id"] and len(line.request_id) == 32
    server_side = [record for record in caplog.records if not record.name.startswith(("httpx", "httpcore"))]
    logged = " ".join(f"{record.getMessage()} {vars(record)}" for record in server_side)
    assert "Dupont" not in logged and "279035121518989" not in logged  # no query values, no raw path


def test_a_client_error_logs_one_line_without_a_traceback(client, caplog):
    with caplog.at_level(logging.DEBUG):
        response = client.get("/fhir/Practitioner", params={"name": "forbidden"})
    assert response.status_code == 403
    assert not [record for record in caplog.records if record.exc_info]
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    (line,) = _access_lines(caplog)
    assert (line.status, line.error) == (403, "Forbidden")


def test_the_access_line_of_a_500_points_to_the_one_traceback(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/fhir/Practitioner", params={"name": "boom"})
    assert response.status_code == 500
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1 and tracebacks[0].name == "services.shared.web.responses"  # not nameko's too
    assert _access_lines(caplog)[0].error == "RuntimeError"


@pytest.mark.parametrize("sent, kept", [("abc-123.x:y", True), ("a b", False), ("x" * 65, False), ("é", False)])
def test_a_request_id_is_the_callers_only_when_it_is_a_plain_token(client, caplog, sent, kept):
    with caplog.at_level(logging.INFO):
        response = client.get("/api/v1/ping", headers={"X-Request-Id": sent.encode()})
    answered = response.headers["x-request-id"]
    assert (answered == sent) is kept and _access_lines(caplog)[0].request_id == answered
    if not kept:
        assert len(answered) == 32 and int(answered, 16) >= 0


def test_unmatched_paths_are_logged_as_unmatched(edge, caplog):
    with caplog.at_level(logging.INFO), httpx.Client(base_url=edge[0]) as client:
        client.get("/api/v1/mailboxes/x%0A2001-01-01T00:00:00Z%20%5Berror%5D%20forged")
    (line,) = _access_lines(caplog)
    assert (line.route, line.status) == ("unmatched", 404) and "forged" not in line.getMessage()


def test_a_forged_host_header_does_not_reach_the_links_we_write(edge):
    base, _ = edge
    statement = httpx.get(f"{base}/fhir/metadata", headers={"Host": "evil.example"}).json()
    assert statement["implementation"]["url"] == f"{base}/fhir"  # the listener's own address


def test_the_configured_public_base_url_is_the_base_of_links(tmp_path):
    port = free_port()
    settings = Settings(environment="test", var_dir=tmp_path, http_address=f"127.0.0.1:{port}",
                        public_base_url="https://maillage.example.fr/cpts")
    runner = ServiceRunner({"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/", "MAILLAGE_SETTINGS": settings})
    runner.add_service(DirectoryEdge)
    runner.start()
    try:
        statement = httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", headers={"Host": "evil.example"}).json()
        assert statement["implementation"]["url"] == "https://maillage.example.fr/cpts/fhir"
    finally:
        runner.kill()


def test_a_request_refused_before_routing_writes_an_access_line(edge, caplog):
    base, _ = edge
    host, port = base.rsplit("/", 1)[1].split(":")
    with caplog.at_level(logging.INFO), socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"GET /fhir/Practitioner?name=Dupont HTTP/2.0\r\nHost: a\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 505 ")
        line = eventually(lambda: _access_lines(caplog))[0]
    assert (line.route, line.status, line.method) == ("unparsed", 505, None)
    assert "Dupont" not in str(vars(line))
