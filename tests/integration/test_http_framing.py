"""The platform's listener over real TCP: request bytes h11 refuses, and targets that do not encode UTF-8.

The unit tests (tests/unit/shared/test_http11.py, test_http11_differential.py) drive the parser with
a bare WSGI app; here the same refusals come from the listener the services share, with its routing,
on a FHIR route, an API route and a route of the server itself (issue 9, defects 4 and 7).
"""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from nameko.runners import ServiceRunner

from services.shared.auth import DevIssuer
from services.shared.settings import Settings
from services.shared.web import FhirInteraction, SearchParam, http
from tests.support.platform import free_port

pytestmark = pytest.mark.integration
FHIR_JSON = "application/fhir+json; charset=utf-8"
PROBLEM_JSON = "application/problem+json"

heard: list[dict[str, str]] = []  # the arguments the routes read


class FramingEdge:
    name = "test_framing_edge"

    @http("GET", "/fhir/Practitioner", fhir=FhirInteraction(
        "Practitioner", "search-type", (SearchParam("family", "string"),)))
    def search(self, request):
        heard.append(request.args.to_dict())
        return 200, {"resourceType": "Bundle", "type": "searchset", "total": 0}

    @http("GET", "/api/v1/ping", public=True)
    def ping(self, request):
        heard.append(request.args.to_dict())
        return {"pong": True}

    @http("POST", "/api/v1/echo", public=True)
    def echo(self, request):
        return {"length": len(request.get_data())}


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> Iterator[tuple[int, str]]:
    var_dir: Path = tmp_path_factory.mktemp("var")
    port = free_port()
    settings = Settings(environment="test", var_dir=var_dir, http_address=f"127.0.0.1:{port}")
    runner = ServiceRunner({"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/", "MAILLAGE_SETTINGS": settings})
    runner.add_service(FramingEdge)
    runner.start()
    try:
        yield port, DevIssuer(var_dir).mint(service="test-suite")
    finally:
        runner.kill()


def exchange(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a fresh connection (left open) and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"closed without an answer: {received!r}"
            received += chunk
        head, body = received.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        while len(body) < int(headers.get("content-length", "0")):
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
    return int(status_line.split(" ")[1]), headers, body


def get(port: int, target: bytes, token: str = "") -> tuple[int, dict[str, str], bytes]:
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    return exchange(port, b"GET " + target + b" HTTP/1.1\r\nHost: edge.test\r\n" + auth + b"\r\n")


# raw bytes, and escapes that decode to what is not UTF-8 text: 400 on every route, never a 500
BAD_QUERIES = [b"family=\xff", b"family=\xc3\xa9", b"family=%ff", b"family=%C0%AF", b"family=%ED%A0%80",
               b"family=%E9", b"family=%00", b"family=%", b"%ff=1", b"a=1&\xfe"]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_a_query_that_is_not_utf_8_text_is_an_operation_outcome_on_fhir_routes(edge, query) -> None:
    port, token = edge
    heard.clear()
    status, headers, body = get(port, b"/fhir/Practitioner?" + query, token)
    assert (status, headers["content-type"]) == (400, FHIR_JSON)
    issue = json.loads(body)["issue"][0]
    assert (issue["severity"], issue["code"]) == ("error", "invalid")
    assert issue["expression"][0] in ("target", "query")
    assert heard == []


@pytest.mark.parametrize("query", BAD_QUERIES)
@pytest.mark.parametrize("path", [b"/api/v1/ping", b"/readyz", b"/healthz", b"/api/v1/openapi.json"])
def test_a_query_that_is_not_utf_8_text_is_a_problem_elsewhere(edge, path, query) -> None:
    port, _ = edge
    heard.clear()
    status, headers, body = get(port, path + b"?" + query)
    assert (status, headers["content-type"]) == (400, PROBLEM_JSON)
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["expression"] in ("target", "query")
    assert heard == []


def test_a_path_that_is_not_utf_8_text_is_refused(edge) -> None:
    port, token = edge
    for target, content_type in ((b"/fhir/Practitioner%ff", FHIR_JSON), (b"/api/v1/p\xffng", PROBLEM_JSON)):
        status, headers, _ = get(port, target, token)
        assert (status, headers["content-type"]) == (400, content_type)


def test_utf_8_text_in_the_query_reaches_the_route(edge) -> None:
    port, token = edge
    heard.clear()
    assert get(port, b"/fhir/Practitioner?family=%C3%A9l%C3%A9a", token)[0] == 200
    assert get(port, b"/api/v1/ping?q=caf%C3%A9+cr%C3%A8me")[0] == 200
    assert heard == [{"family": "éléa"}, {"q": "café crème"}]


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nX: a\nContent-Length: 40\r\nContent-Length: 0\r\n\r\n", 400),
    (b"GET /api/v1/ping HTTP/1.1\nHost: t\n\n", 400),  # answered at once, on an open connection
    (b"GET /api/v1/ping HTTP/1.1\r\nHost: t\r\nX: \x00\r\n\r\n", 400),
    (b"GET /api/v1/ping HTTP/1.1\r\n\r\n", 400),
    (b"GET /api/v1/ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"get /api/v1/ping HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400),
    (b"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
     b"Content-Length: 9\r\n\r\n", 400),
    (b"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n", 400),
])
def test_the_listener_refuses_what_h11_refuses(edge, request_bytes, status) -> None:
    port, _ = edge
    answer_status, headers, body = exchange(port, request_bytes)
    assert answer_status == status and headers["connection"] == "close"
    assert headers["content-type"] == PROBLEM_JSON and json.loads(body)["status"] == status


def test_well_formed_requests_still_pass(edge) -> None:
    port, _ = edge
    status, _, body = exchange(port, b"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     b"5;ext=1\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n")
    assert (status, json.loads(body)) == (200, {"length": 5})
    assert exchange(port, b"GET /readyz HTTP/1.0\r\n\r\n")[0] in (200, 503)
