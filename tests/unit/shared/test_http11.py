"""The lean HTTP/1.1 server over a real TCP socket: framing, keep-alive, and refusals before the app runs."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
from werkzeug.wrappers import Request, Response

from services.shared.errors import Invalid
from services.shared.web.http11 import DRAIN_LIMIT_BYTES, MAX_HEAD_BYTES, serve_connection

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
    listener = eventlet.listen(("127.0.0.1", 0))
    address = listener.getsockname()

    def accept() -> None:
        while True:
            sock, peer = listener.accept()
            sock.settimeout(5)
            eventlet.spawn(serve_connection, sock, peer, app, address)

    acceptor = eventlet.spawn(accept)
    seen.clear()
    yield address
    acceptor.kill()
    listener.close()


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


def test_empty_lines_before_a_request_are_skipped(server) -> None:
    client = Client(server)
    client.send(post("/echo", b"one") + b"\r\n\r\n" + post("/echo", b"two"))
    assert [client.response()[2] for _ in range(2)] == [b"one", b"two"]
    client.send(b"\r\n")
    client.send(post("/echo", b"three"))
    assert client.response()[2] == b"three"


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
