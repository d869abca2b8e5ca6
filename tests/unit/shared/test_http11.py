"""The lean HTTP/1.1 server over a real TCP socket: framing, keep-alive, and refusals before the app runs."""
from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
from werkzeug.wrappers import Request, Response

from services.shared.errors import Invalid
from services.shared.web.http11 import (
    DRAIN_LIMIT_BYTES,
    MAX_CHUNKS,
    MAX_HEAD_BYTES,
    MAX_HEADER_FIELDS,
)
from tests.support.http_server import serving

seen: list[dict[str, Any]] = []  # what the app saw, request by request


def app(environ: dict[str, Any], start_response: Any) -> Any:
    request = Request(environ)
    seen.append({"path": request.path, "query": environ["QUERY_STRING"], "method": request.method,
                 "headers": dict(request.headers)})
    if request.path == "/boom":
        raise RuntimeError("a bug in the application")
    if request.path == "/ignore":  # answers without reading the body
        response = Response(b"ignored", status=413)
    else:
        try:
            body = request.get_data()
        except Invalid as exc:
            response = Response(str(exc).encode(), status=400)
        else:
            response = Response(body, content_type="application/octet-stream")
    return response(environ, start_response)


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    with serving(app) as address:
        seen.clear()
        yield address


class Client:
    """A raw socket client: what is written is exactly what the server reads."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=5)
        self.pending = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.pending:
            self._more()
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(self.pending) < length:
            self._more()
        body, self.pending = self.pending[:length], self.pending[length:]
        return int(status_line.split(" ")[1]), headers, body

    def closed(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.pending += chunk


def post(path: str, body: bytes, *extra: str) -> bytes:
    headers = "".join(f"{line}\r\n" for line in extra)
    return f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


def test_keep_alive_serves_several_requests_on_one_connection(server) -> None:
    client = Client(server)
    for body in (b"first", b"second"):
        client.send(post("/echo", body))
        status, headers, answer = client.response()
        assert (status, answer) == (200, body)
        assert headers["content-length"] == str(len(body))
        assert "date" in headers and "connection" not in headers


def test_pipelined_requests_are_answered_in_order(server) -> None:
    client = Client(server)
    client.send(post("/echo", b"one") + post("/echo", b"two") + b"GET /echo?x=1 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert [client.response()[2] for _ in range(3)] == [b"one", b"two", b""]
    assert seen[2]["query"] == "x=1"


@pytest.mark.parametrize("before", [b"\r\n", b"\r\n\r\n", b"\r\n" * 5000])
def test_empty_lines_before_a_request_line_are_refused_at_once(server, before) -> None:
    client = Client(server)  # h11 refuses them ("no request line received"): so does the server
    client.send(before + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = client.response()
    assert (status, headers["connection"]) == (400, "close")
    assert "empty line" in json.loads(body)["detail"]
    assert seen == [] and client.closed()


def test_an_empty_line_after_a_body_is_refused_as_the_next_request(server) -> None:
    client = Client(server)
    client.send(post("/echo", b"one") + b"\r\n" + post("/echo", b"two"))
    assert client.response()[:3:2] == (200, b"one")
    assert client.response()[0] == 400
    assert client.closed() and len(seen) == 1


@pytest.fixture
def deadline_server() -> Iterator[tuple[str, int]]:
    """A server whose request heads must arrive within half a second."""
    with serving(app, socket_timeout=30, head_timeout=0.5) as address:
        seen.clear()
        yield address


@pytest.mark.parametrize("start", [b" ", b"\r", b"G", b"GET / HTTP/1.1\r\nHost: t\r\n", b"GET /fhir/x HTTP/1.1\r\n"])
def test_a_head_deadline_after_any_byte_is_answered_408(deadline_server, start) -> None:
    client = Client(deadline_server)
    client.sock.settimeout(30)  # generous: the deadline, not this timeout, ends the wait
    client.send(start)
    status, headers, body = client.response()
    assert (status, headers["connection"]) == (408, "close")
    assert seen == [] and client.closed()


def test_a_head_deadline_without_any_byte_closes_quietly(deadline_server) -> None:
    client = Client(deadline_server)
    client.sock.settimeout(30)
    assert client.closed()


def test_a_chunked_body_is_reassembled_with_extensions_and_trailers_ignored(server) -> None:
    client = Client(server)
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n")
    assert client.response()[:3:2] == (200, b"hello world")
    client.send(post("/echo", b"next"))
    assert client.response()[2] == b"next"


def test_expect_100_continue_is_answered_when_the_app_reads_the_body(server) -> None:
    client = Client(server)
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    assert client.response(head_only=True)[0] == 100
    client.send(b"data")
    assert client.response()[:3:2] == (200, b"data")


def test_a_body_the_app_refused_unread_after_expect_100_is_never_asked_for(server) -> None:
    client = Client(server)
    client.send(b"POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    status, headers, _ = client.response()
    assert (status, headers["connection"]) == (413, "close")
    assert client.closed()


def test_a_small_unread_body_is_skipped_and_the_connection_goes_on(server) -> None:
    client = Client(server)
    client.send(post("/ignore", b"x" * 1000) + post("/echo", b"after"))
    assert client.response()[0] == 413
    assert client.response()[2] == b"after"


def test_a_large_unread_body_closes_the_connection(server) -> None:
    client = Client(server)
    body = b"x" * (DRAIN_LIMIT_BYTES * 4)
    client.send(f"POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    status, headers, _ = client.response()
    assert (status, headers["connection"]) == (413, "close")


def test_http_1_0_closes_unless_keep_alive_is_asked_for(server) -> None:
    client = Client(server)
    client.send(b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert client.response()[1]["connection"] == "keep-alive"
    client.send(b"GET /echo HTTP/1.0\r\n\r\n")
    assert client.response()[1]["connection"] == "close"
    assert client.closed()


def test_connection_close_from_the_client_is_honoured(server) -> None:
    client = Client(server)
    client.send(b"GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert client.response()[1]["connection"] == "close"
    assert client.closed()


def test_head_gets_the_length_of_the_body_it_does_not_get(server) -> None:
    client = Client(server)
    client.send(b"HEAD /echo HTTP/1.1\r\nHost: t\r\n\r\n" + post("/echo", b"after"))
    status, headers, _ = client.response(head_only=True)
    assert status == 200 and headers["content-length"] == "0"
    assert client.response()[2] == b"after"


def test_the_path_is_percent_decoded_and_absolute_form_reduced_to_its_path(server) -> None:
    client = Client(server)
    client.send(b"GET /fhir/Practitioner%2Fx%C3%A9?name=%C3%A9 HTTP/1.1\r\nHost: t\r\n\r\n"
                b"GET http://example.test:8080/api/v1/ping?a=b HTTP/1.1\r\nHost: t\r\n\r\n")
    client.response(), client.response()
    assert (seen[0]["path"], seen[0]["query"]) == ("/fhir/Practitioner/xé", "name=%C3%A9")
    assert (seen[1]["path"], seen[1]["query"]) == ("/api/v1/ping", "a=b")


def test_headers_with_underscores_are_dropped_and_repeated_ones_joined(server) -> None:
    client = Client(server)
    client.send(b"GET /echo HTTP/1.1\r\nHost: t\r\nX_Principal: admin\r\nAccept: a\r\nAccept: b\r\n\r\n")
    client.response()
    assert "X-Principal" not in seen[0]["headers"]
    assert seen[0]["headers"]["Accept"] == "a, b"


def test_an_application_failure_is_a_500_and_the_server_goes_on(server, caplog) -> None:
    client = Client(server)
    client.send(b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n")
    status, _, body = client.response()
    assert status == 500 and b"a bug" not in body
    client.send(post("/echo", b"still here"))
    assert client.response()[2] == b"still here"


def test_a_malformed_chunk_is_the_clients_error_and_ends_the_connection(server) -> None:
    client = Client(server)
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
    status, headers, body = client.response()
    assert (status, headers["connection"]) == (400, "close")
    assert b"hexadecimal" in body


@pytest.mark.parametrize(("request_bytes", "status", "words"), [
    (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both"),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "chunked"),
    (b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"),
    (b"GET /\r\n\r\n", 400, "request line"),
    (b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP/1.1"),
    (b"G(T / HTTP/1.1\r\n\r\n", 400, "method"),
    (b"GET nowhere HTTP/1.1\r\n\r\n", 400, "target"),
    (b"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400, "Folded"),
    (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400, "name: value"),
    (b"POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400, "conflicting"),
    (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: something\r\n\r\n", 417, "100-continue"),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414, "request line"),
    (b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n", 431, "headers"),
])
def test_malformed_requests_are_refused_before_the_app_runs(server, request_bytes, status, words) -> None:
    client = Client(server)
    client.send(request_bytes)
    answer_status, headers, body = client.response()
    assert answer_status == status
    assert headers["connection"] == "close" and headers["content-type"] == "application/problem+json"
    assert words in json.loads(body)["detail"]
    assert seen == []
    assert client.closed()


def test_a_client_that_closes_between_requests_ends_the_connection_quietly(server) -> None:
    client = Client(server)
    client.send(post("/echo", b"once"))
    client.response()
    client.sock.close()
    eventlet.sleep(0.05)
    assert len(seen) == 1


# -- what h11 refuses, the server refuses (issue 9); tests/unit/shared/test_http11_differential.py generates more

HEAD_OK = b"Host: t\r\n"


@pytest.mark.parametrize(("request_bytes", "status", "words"), [
    # a bare LF in a value would end the line for a proxy that reads LF alone: the body boundary moves
    (b"POST / HTTP/1.1\r\nHost: t\r\nX: a\nContent-Length: 40\r\nContent-Length: 0\r\n\r\n", 400, "control"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\rContent-Length: 40\r\n\r\n", 400, "control"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", 400, "control"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX\x00: a\r\n\r\n", 400, "control"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX: \x7f\r\n\r\n", 400, "control"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX: \x1b[31m\r\n\r\n", 400, "control"),
    (b"GET / HTTP/1.1\r\nHost: t\r\n\x00\r\n\r\n", 400, "control"),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX : a\r\n\r\n", 400, "name: value"),
    (b"GET / HTTP/1.1\r\n\r\n", 400, "Host"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, "more than one Host"),
    (b"GET / HTTP/1.1\r\nHost: a/b@c\r\n\r\n", 400, "Host"),
    (b"get / HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "case-sensitive"),
    (b"Get / HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "case-sensitive"),
    (b"GET\t/ HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "request line"),
    (b"GET / HTTP/1.1 \r\n" + HEAD_OK + b"\r\n", 400, "request line"),
    (b"GET  / HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "request line"),
    (b"\rGET / HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "CR or LF"),
    (b"\nGET / HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "CR or LF"),
    (b"POST / HTTP/1.1\r\n" + HEAD_OK + b"Content-Length: 0000000000000000005\r\n\r\n", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\n" + HEAD_OK + b"Content-Length: 5, 5\r\n\r\n", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\n" + HEAD_OK + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     501, "chunked"),
    # the request target: visible ASCII only, escapes that encode UTF-8 text (issue 9, defect 4)
    (b"GET /\xff HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "visible ASCII"),
    (b"GET /?name=\xc3\xa9 HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "visible ASCII"),
    (b"GET /?name=%ff HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "UTF-8"),
    (b"GET /?name=%C0%AF HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "UTF-8"),  # overlong '/'
    (b"GET /?name=%ED%A0%80 HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "UTF-8"),  # a surrogate
    (b"GET /?name=%E9t%E9 HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "UTF-8"),  # latin-1, not UTF-8
    (b"GET /x%ff HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "path must encode UTF-8"),
    (b"GET /?name=%00 HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "NUL"),
    (b"GET /?name=100% HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "'%'"),
    (b"GET /?name=%zz HTTP/1.1\r\n" + HEAD_OK + b"\r\n", 400, "'%'"),
])
def test_what_h11_refuses_is_refused_before_the_app_runs(server, request_bytes, status, words) -> None:
    client = Client(server)
    client.send(request_bytes)
    answer_status, headers, body = client.response()
    assert answer_status == status
    assert headers["connection"] == "close" and headers["content-type"] == "application/problem+json"
    assert words in json.loads(body)["detail"]
    assert seen == []
    assert client.closed()


@pytest.mark.parametrize("target", [b"/fhir/Practitioner?family=%ff", b"/fhir/Practitioner?family=\xff",
                                    b"/fhir?x=%00", b"/fhir/metadata%ff"])
def test_refusals_under_fhir_are_operation_outcomes(server, target) -> None:
    client = Client(server)
    client.send(b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, body = client.response()
    assert (status, headers["content-type"]) == (400, "application/fhir+json; charset=utf-8")
    issue = json.loads(body)["issue"][0]
    assert issue["severity"] == "error" and issue["code"] == "invalid"
    assert issue["expression"][0] in ("target", "query", "path")
    assert seen == []


LONG = b"a" * 9000


@pytest.mark.parametrize(("head", "status"), [
    (b"GET /fhir/Practitioner?x=" + LONG + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    (b"GET /fhir/Practitioner?x=" + b"a" * 70_000, 414),  # cut short: no CRLF, no version yet
    (b"GET /fhir/Practitioner HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    (b"GET /fhir/Practitioner HTTP/1.1\r\nHost: t\r\n" + b"a: 1\r\n" * 200 + b"\r\n", 431),
    (b"GET /fhir/Practitioner HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    (b"get /fhir/Practitioner HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"G(T /fhir/Practitioner HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"GET /fhir/Practitioner HTTP/1.1 extra\r\nHost: t\r\n\r\n", 400),
    (b"GET /fhir HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", 400),
    (b"get http://edge.test/fhir/metadata HTTP/1.1\r\nHost: t\r\n\r\n", 400),  # absolute-form
    (b"GET /%66hir/Practitioner HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
])
def test_every_refusal_before_routing_follows_the_paths_format(server, head, status) -> None:
    """Under /fhir an OperationOutcome, even when the request line is malformed or cut short."""
    for fhir in (True, False):
        client = Client(server)
        client.send(head if fhir else head.replace(b"/fhir", b"/api").replace(b"/%66hir", b"/api"))
        with contextlib.suppress(ConnectionError):  # the server may close before reading all we sent
            answer_status, headers, body = client.response()
        assert answer_status == status
        if fhir:
            assert headers["content-type"] == "application/fhir+json; charset=utf-8"
            assert json.loads(body)["resourceType"] == "OperationOutcome"
        else:
            assert headers["content-type"] == "application/problem+json"
            assert json.loads(body)["status"] == status


@pytest.mark.parametrize(("request_bytes", "line"), [
    (b"GET /ignore HTTP/1.1\r\nHost: t\r\n\r\n", b"HTTP/1.1 413 Content Too Large\r\n"),  # werkzeug's, upper-cased
    (b"GET /" + LONG + b" HTTP/1.1\r\nHost: t\r\n\r\n", b"HTTP/1.1 414 URI Too Long\r\n"),
    (b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", b"HTTP/1.1 200 OK\r\n"),
    (b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
])
def test_status_lines_carry_rfc_9110_reason_phrases(server, request_bytes, line) -> None:
    with socket.create_connection(server, timeout=5) as raw:
        raw.sendall(request_bytes)
        assert raw.recv(65536).startswith(line)


def test_problem_titles_use_the_same_phrases(server) -> None:
    client = Client(server)
    client.send(b"GET /" + LONG + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert json.loads(client.response()[2])["title"] == "URI Too Long"


def test_a_fhir_request_without_host_is_refused_as_an_operation_outcome(server) -> None:
    client = Client(server)
    client.send(b"GET /fhir/Practitioner HTTP/1.1\r\n\r\n")
    status, headers, body = client.response()
    assert (status, headers["content-type"]) == (400, "application/fhir+json; charset=utf-8")
    assert json.loads(body)["issue"][0]["expression"] == ["Host"]


def test_text_encoded_as_utf_8_reaches_the_app(server) -> None:
    client = Client(server)
    client.send(b"GET /fhir/Practitioner?family=%C3%A9l%C3%A9a&given=a+b HTTP/1.1\r\nHost: t\r\n\r\n"
                b"GET /echo HTTP/1.0\r\n\r\n")  # HTTP/1.0 needs no Host
    assert client.response()[0] == client.response()[0] == 200
    assert seen[0]["query"] == "family=%C3%A9l%C3%A9a&given=a+b"


@pytest.mark.parametrize("request_bytes", [
    b"GET / HTTP/1.1\nHost: t\n\n",  # LF alone everywhere: would wait for a CRLFCRLF until the idle timeout
    b"GET / HTTP/1.1\r\nHost: t\n\n",
    b"GET / HTTP/1.1\rHost: t\r\r",
])
def test_bare_line_ends_get_a_400_at_once_not_a_hang(server, request_bytes) -> None:
    client = Client(server)
    client.send(request_bytes)  # the connection stays open: the answer is not waiting for the end of the stream
    status, headers, body = client.response()
    assert (status, headers["connection"]) == (400, "close")
    assert "bare CR or LF" in json.loads(body)["detail"]
    assert seen == []


def chunked(chunks: bytes) -> bytes:
    return b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks


@pytest.mark.parametrize("chunks", [
    b"0x5\r\nhello\r\n0\r\n\r\n",
    b" 5\r\nhello\r\n0\r\n\r\n",
    b"+5\r\nhello\r\n0\r\n\r\n",
    b"-5\r\nhello\r\n0\r\n\r\n",
    b"5_\r\nhello\r\n0\r\n\r\n",
    b"5 ;a=b\r\nhello\r\n0\r\n\r\n",
    b"\xef\xbc\x95\r\nhello\r\n0\r\n\r\n",  # a fullwidth digit 5
    b"00000000000000005\r\nhello\r\n0\r\n\r\n",  # 17 digits
    b"5;a=\x00\r\nhello\r\n0\r\n\r\n",
    b"5;a\rb\r\nhello\r\n0\r\n\r\n",
    b"5;a\nb\r\nhello\r\n0\r\n\r\n",
    b"5;a=\"unterminated\r\nhello\r\n0\r\n\r\n",
    b"5;=b\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\r\n0\r\nX-T: a\x00b\r\n\r\n",
    b"5\r\nhello\r\n0\r\nX-T: a\nb\r\n\r\n",
    b"5\r\nhello\r\n0\r\n folded\r\n\r\n",
    b"5\r\nhello\r\n0\r\nno colon\r\n\r\n",
    b"5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n",
    b"5\r\nhello\r\n0\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"5\r\nhello\r\n0\r\nHost: other\r\n\r\n",
])
def test_malformed_chunked_bodies_and_trailers_are_the_clients_error(server, chunks) -> None:
    client = Client(server)
    client.send(chunked(chunks))
    status, headers, body = client.response()
    assert (status, headers["connection"]) == (400, "close")
    assert b"hello" not in body and client.closed()


@pytest.mark.parametrize("tail", [b"5\r\nhello\n", b"5\r\nhello\r\n0\n", b"5\r\nhello\r\n0\r\nX-T: 1\n"])
def test_a_bare_lf_in_a_chunked_body_is_refused_at_once(server, tail) -> None:
    client = Client(server)
    client.send(chunked(tail))  # nothing follows: without the check this waits for a CRLF until the timeout
    status, _, body = client.response()
    assert status == 400 and b"bare CR or LF" in body


@pytest.mark.parametrize("chunks", [
    b"05\r\nhello\r\n0\r\n\r\n",
    b"5;a=b;c;d=\"q \\\" x\"\r\nhello\r\n0\r\n\r\n",
    b"5 \r\nhello\r\n00\r\n\r\n",
    b"5\r\nhello\r\n0\r\nX-Checksum: 12\r\nX-Other: a b\r\n\r\n",
    b"000000000000005\r\nhello\r\n0;last\r\n\r\n",
])
def test_well_formed_chunked_bodies_are_read(server, chunks) -> None:
    client = Client(server)
    client.send(chunked(chunks) + post("/echo", b"next"))
    assert client.response()[:3:2] == (200, b"hello")
    assert client.response()[2] == b"next"


def test_the_cost_of_one_head_and_one_chunked_body_is_bounded(server) -> None:
    client = Client(server)
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\n" + b"a: 1\r\n" * MAX_HEADER_FIELDS + b"\r\n")
    status, _, body = client.response()
    assert status == 431 and str(MAX_HEADER_FIELDS) in json.loads(body)["detail"]
    client = Client(server)
    client.send(chunked(b"1\r\nx\r\n" * (MAX_CHUNKS + 1) + b"0\r\n\r\n"))
    status, _, body = client.response()
    assert status == 400 and str(MAX_CHUNKS).encode() in body
    client = Client(server)
    client.send(chunked(b"1\r\nx\r\n" * (MAX_CHUNKS - 1) + b"0\r\n\r\n"))  # the last-chunk counts as one
    assert client.response()[:3:2] == (200, b"x" * (MAX_CHUNKS - 1))
