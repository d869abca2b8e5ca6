"""A lean HTTP/1.1 server connection: parses requests itself and hands each to a WSGI app.

eventlet's wsgi server parses every request with ``http.server`` and the ``email`` package's
header parser, builds its environ through several layers and writes headers and body in separate
sends. On the submission path that was a sixth of the messaging service's CPU. This module does
the same job for what the platform serves — origin-form requests, Content-Length or chunked
bodies, ``Expect: 100-continue``, keep-alive and pipelining — and answers everything else with a
precise status (400, 414, 431, 501, 505) before any application code runs.

One green thread runs one connection (``serve_connection``); the socket is a green socket whose
timeout bounds how long an idle keep-alive connection, or a slow request, may hold it.
"""
from __future__ import annotations

import contextlib
import io
import logging
import re
import socket
import sys
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes

from services.shared.errors import Invalid
from services.shared.web.responses import STATUS_LINES, error_response, is_fhir_path, reason_phrase

_log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024  # request line and headers together
MAX_REQUEST_LINE_BYTES = 8 * 1024
DRAIN_LIMIT_BYTES = 64 * 1024  # an unread body up to this size is skipped to keep the connection
_RECV_BYTES = 64 * 1024
_TOKEN_CHARS = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN = re.compile(_TOKEN_CHARS)  # always fullmatch: `$` would let a final LF through
# What a request head may not hold (RFC 9110 §5.5: field values are visible characters, SP and HTAB):
# control characters other than HTAB, CR and LF; CR and LF only as the CRLF that ends a line.
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # in one line: LF and CR included
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0a, 0x20), 0x7f])  # the same, for bytes.translate
_BARE_LINE_END = re.compile(rb"(?<!\r)\n|\r(?=[^\n])")  # a CR followed by something else, an LF alone
_TARGET = re.compile(rb"[\x21-\x7e]+")  # RFC 9112 §3.2: visible ASCII; anything else is percent-encoded
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_NOT_ASCII_TEXT_ESCAPE = re.compile(rb"%(?:[89A-Fa-f][0-9A-Fa-f]|00)")  # escapes of what is not ASCII, or NUL
_HOST = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:\[\]%]*")  # RFC 3986 host [ ":" port ], or empty
_MAX_LENGTH_DIGITS = 18  # a Content-Length up to 10**18 - 1 bytes; h11 stops at 20 digits
MAX_HEADER_FIELDS = 100  # header lines a request may have: the cost of parsing one head stays bounded
MAX_PIPELINED = 32  # requests answered in a row from what was already buffered (the client read none in between)
MAX_CHUNKS = 16_384  # chunks a body may have (a 32 MiB body in 2 KiB chunks): 1-byte chunks cost ~4 µs each
# RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF, the size in at most 16 hex digits (64 bits), nothing
# before it, no space before the first ';'; extensions are token [ = token / quoted-string ].
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_EXT = _TOKEN_CHARS + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN_CHARS + rb"|" + _QUOTED + rb"))?"
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[ \t]*" + _EXT + rb"(?:[ \t]*;[ \t]*" + _EXT + rb")*)?[ \t]*")
_NOT_IN_TRAILERS = frozenset({"CONTENT_LENGTH", "TRANSFER_ENCODING", "HOST"})  # framing and routing
_NO_BODY_STATUSES = frozenset({204, 304})

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class HttpError(Exception):
    """A request the server refuses before the application sees it; the connection is then closed."""

    def __init__(self, status: int, message: str, *, expression: str | None = None, fhir: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.expression = expression  # the part of the request at fault: "target", "query", a header name
        self.fhir = fhir  # the request was for /fhir: the refusal is an OperationOutcome


class _Closed(Exception):
    """The peer closed the connection (or it timed out) before a request began."""


class Connection:
    """Reads requests off one socket, runs the app for each, writes the responses."""

    def __init__(self, sock: Any, peer: Any, app: WsgiApp, server: tuple[str, int], *,
                 head_timeout: float | None = None, tracker: Tracker | None = None) -> None:
        self.sock = sock
        self.peer = peer if isinstance(peer, tuple) else (str(peer), 0)
        self.app = app
        self.server_name, self.server_port = server[0], str(server[1])
        self.buffer = b""
        # the whole request head must arrive within head_timeout: from the accept for the first
        # request, from its first byte for the next ones (waiting for that byte is the idle timeout)
        self.head_timeout = head_timeout
        self.idle_timeout = sock.gettimeout()
        self.head_deadline = time.monotonic() + head_timeout if head_timeout is not None else None
        self.tracker = tracker
        self.head_seen = b""  # the current request's head so far: a refusal's format follows its target
        self.served = 0  # requests answered on this connection
        self.pipelined = 0  # of those, answered in a row with the next head already buffered
        # a response must make progress within this (the client reads nothing: pipelined requests never read)
        self.send_timeout = head_timeout if head_timeout is not None else self.idle_timeout

    # -- the connection loop ---------------------------------------------------------------------

    def serve(self) -> None:
        try:
            while self._serve_one():
                pass
        except (_Closed, TimeoutError, ConnectionError):
            pass
        except HttpError as exc:
            exc.fhir = exc.fhir or _fhir_target(self.head_seen)  # refused before its path was known
            self._refuse(exc)
            if self.tracker is not None:
                self.tracker.refused(self, exc.status)
        finally:
            if self.tracker is not None:
                self.tracker.closed(self)
            self.sock.close()

    def shed(self) -> None:
        """Make the connection end now (its green thread sees end of file): the listener is full."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def _serve_one(self) -> bool:
        """One request and its response; whether the connection stays open for the next."""
        head = self._read_head()
        environ, body, keep_alive = self._parse(head)
        status, headers, chunks = self._run_app(environ)
        keep_alive = keep_alive and body.can_skip_rest() and not _says_close(headers)
        # a client that pipelines without reading the answers queues work without bound: close after a few
        self.pipelined = self.pipelined + 1 if self.buffer else 0
        keep_alive = keep_alive and self.pipelined < MAX_PIPELINED
        self._respond(environ, status, headers, chunks, keep_alive)
        self.served += 1
        return keep_alive and body.skip_rest()

    def _read_head(self) -> bytes:
        if self.tracker is not None:
            if self.served and not self.buffer:
                self.tracker.idle(self)  # kept alive, no byte of a next request yet
            else:
                self.tracker.waiting(self)  # sheddable while it waits for a request head
        try:
            head = self._read_head_bytes()
        except TimeoutError:
            if self.buffer:  # any byte of a head, even a space: the client began a request
                self.sock.settimeout(self.idle_timeout)  # for the refusal's send
                raise HttpError(408, "The request head did not arrive in time.") from None
            raise _Closed() from None
        finally:
            if self.tracker is not None:
                self.tracker.busy(self)
        self.head_deadline = None  # the next request's starts with its first byte
        if self.head_timeout is not None:
            self.sock.settimeout(self.idle_timeout)  # the body's reads: the idle timeout per read
        return head

    def _recv_head(self, buffer: bytes) -> bytes:
        """One read towards a request head, within what is left of the head's deadline."""
        if self.head_timeout is not None:
            if self.head_deadline is None and buffer:
                self.head_deadline = time.monotonic() + self.head_timeout
            if self.head_deadline is None:
                self.sock.settimeout(self.idle_timeout)
            else:
                left = self.head_deadline - time.monotonic()
                if left <= 0:
                    self.buffer = buffer
                    raise TimeoutError()
                self.sock.settimeout(left if self.idle_timeout is None else min(left, self.idle_timeout))
        try:
            chunk = bytes(self.sock.recv(_RECV_BYTES))
        except TimeoutError:
            self.buffer = buffer  # tells a stalled head (408) from an idle connection (closed quietly)
            raise
        if self.tracker is not None and chunk:
            self.tracker.waiting(self)  # progress: the head's time without progress starts again
        return chunk

    def _read_head_bytes(self) -> bytes:
        # no empty line before a request line: RFC 9112 §2.2 lets a server skip them, h11 refuses them,
        # and a proxy in front may read such bytes differently (we refuse whatever h11 refuses)
        buffer, start = self.buffer, 0
        while True:
            self.head_seen = buffer
            if buffer[:2] == b"\r\n":  # (a lone LF is a bare line end, below)
                raise HttpError(400, "A request begins with its request line, not an empty line.")
            end = buffer.find(b"\r\n\r\n", start)
            if end >= 0 and end <= MAX_HEAD_BYTES:
                self.buffer = buffer[end + 4:]
                return buffer[:end]
            if len(buffer) > MAX_HEAD_BYTES:
                line_end = buffer.find(b"\r\n")
                if line_end < 0 or line_end > MAX_REQUEST_LINE_BYTES:
                    raise HttpError(414, "The request line is too long.")
                raise HttpError(431, "The request headers are too large.")
            if _BARE_LINE_END.search(buffer, max(0, start - 1)):  # at once: a CRLFCRLF may never come
                raise HttpError(400, "The lines of a request head end with CRLF, not a bare CR or LF.")
            start = max(0, len(buffer) - 3)
            chunk = self._recv_head(buffer)
            if not chunk:
                if buffer:
                    raise HttpError(400, "The connection closed in the middle of a request.")
                raise _Closed()
            buffer += chunk

    # -- parsing -----------------------------------------------------------------------------------

    def _parse(self, head: bytes) -> tuple[dict[str, Any], Body, bool]:
        self.head_seen = head
        lines = head.split(b"\r\n")
        request_line = lines[0]
        if len(request_line) > MAX_REQUEST_LINE_BYTES:
            raise HttpError(414, "The request line is too long.")
        if len(lines) > MAX_HEADER_FIELDS + 1:
            raise HttpError(431, f"A request may have at most {MAX_HEADER_FIELDS} header lines.")
        # the only control bytes allowed are HTAB and the CR LF of each line end (one C pass, no regex)
        if len(head) - len(head.translate(None, _CONTROL_BYTES)) != 2 * (len(lines) - 1):
            raise HttpError(400, "The request head holds a control character, or a CR or LF outside a line end.")
        parts = request_line.split(b" ")
        if len(parts) != 3:
            raise HttpError(400, "The request line must be: method, target and HTTP version.")
        method, target, version = parts
        if not version.startswith(b"HTTP/") or version not in (b"HTTP/1.1", b"HTTP/1.0"):
            if re.fullmatch(rb"HTTP/\d\.\d", version):
                raise HttpError(505, "Only HTTP/1.1 and HTTP/1.0 are served.")
            raise HttpError(400, "The request line must end with the HTTP version.")
        if not _TOKEN.fullmatch(method):
            raise HttpError(400, "The request method is not a valid token.", expression="method")
        if method.upper() != method:  # werkzeug would upper-case it: "get" is not GET
            raise HttpError(400, "Request methods are case-sensitive and upper-case; this one is not known.",
                            expression="method")
        environ = self._base_environ(method.decode("ascii"), _origin_form(target), version.decode("ascii"))
        try:
            return self._parse_fields(environ, lines, version)
        except HttpError as exc:
            exc.fhir = is_fhir_path(environ["PATH_INFO"])
            raise

    def _parse_fields(self, environ: dict[str, Any], lines: list[bytes],
                      version: bytes) -> tuple[dict[str, Any], Body, bool]:
        headers = _parse_headers(lines)
        for name, value in headers.items():
            if name == "CONTENT_TYPE" or name == "CONTENT_LENGTH":
                environ[name] = value
            else:
                environ["HTTP_" + name] = value
        body = self._body(environ, version == b"HTTP/1.1")
        if version == b"HTTP/1.1" and "HTTP_HOST" not in environ:  # RFC 9112 §3.2
            raise HttpError(400, "An HTTP/1.1 request must carry a Host header.", expression="Host")
        environ["wsgi.input"] = body
        connection = environ.get("HTTP_CONNECTION", "").lower()
        keep_alive = "close" not in connection if version == b"HTTP/1.1" else "keep-alive" in connection
        return environ, body, keep_alive

    def _base_environ(self, method: str, target: tuple[str, str, str], version: str) -> dict[str, Any]:
        raw, path, query = target
        return {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
            "RAW_URI": raw, "REQUEST_URI": raw, "SERVER_NAME": self.server_name, "SERVER_PORT": self.server_port,
            "SERVER_PROTOCOL": version, "REMOTE_ADDR": str(self.peer[0]), "REMOTE_PORT": str(self.peer[1]),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            # the body stream ends at the body's end, chunked or not: werkzeug may read it to EOF
            "wsgi.input_terminated": True,
        }

    def _body(self, environ: dict[str, Any], http11: bool) -> Body:
        encoding = environ.pop("HTTP_TRANSFER_ENCODING", None)
        length = environ.get("CONTENT_LENGTH")
        expect = environ.get("HTTP_EXPECT", "").lower()
        if expect and expect != "100-continue":
            raise HttpError(417, "Only 'Expect: 100-continue' is understood.")
        if encoding is not None:
            if length is not None:  # both framings: a request-smuggling vector, never guessed at
                raise HttpError(400, "A request cannot have both Content-Length and Transfer-Encoding.")
            if not http11:
                raise HttpError(400, "Transfer-Encoding is not allowed in HTTP/1.0.")
            if encoding.strip().lower() != "chunked":
                raise HttpError(501, "Only the chunked transfer coding is supported.")
            return Body(self, None, continue_first=http11 and expect == "100-continue")
        if length is None:
            return Body(self, 0)
        if not length.isdigit() or not length.isascii() or len(length) > _MAX_LENGTH_DIGITS:
            raise HttpError(400, "Content-Length must be a single non-negative integer.", expression="Content-Length")
        return Body(self, int(length), continue_first=http11 and expect == "100-continue" and int(length) > 0)

    # -- the application and the response ----------------------------------------------------------

    def _run_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append

        written: list[bytes] = []
        try:
            result = self.app(environ, start_response)
            try:
                chunks = [*written, *result]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # noqa: BLE001 - the app maps its own errors; this is a bug in it: log, answer 500
            _log.exception("the web application failed on a request")
            body = b'{"title": "Internal error"}'
            return "500 Internal Server Error", [("Content-Type", "application/json")], [body]
        if not started:
            raise RuntimeError("the WSGI application returned without calling start_response")
        return started[0], started[1], chunks

    def _respond(self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]],
                 chunks: list[bytes], keep_alive: bool) -> None:
        code = int(status[:3])
        status = STATUS_LINES.get(code, status)  # one table of reason phrases, whatever the app wrote
        body = b"".join(chunks) if len(chunks) != 1 else chunks[0]
        lines = [f"{environ['SERVER_PROTOCOL']} {status}\r\nDate: {_http_date()}\r\n"]
        has_length = False
        for name, value in headers:
            lower = name.lower()
            if lower == "connection":
                continue
            has_length = has_length or lower == "content-length"
            lines.append(f"{name}: {value}\r\n")
        no_body = code in _NO_BODY_STATUSES or code < 200
        if not has_length and not no_body and environ["REQUEST_METHOD"] != "HEAD":
            lines.append(f"Content-Length: {len(body)}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        elif environ["SERVER_PROTOCOL"] == "HTTP/1.0":
            lines.append("Connection: keep-alive\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        if no_body or environ["REQUEST_METHOD"] == "HEAD" or not body:
            self.send_all(head)
        elif len(body) <= _RECV_BYTES:
            self.send_all(head + body)  # one segment: no Nagle delay, one wake-up of the client
        else:
            self.send_all(head)
            self.send_all(body)

    def _refuse(self, error: HttpError) -> None:
        reason = reason_phrase(error.status)
        answer = error_response(error.status, _OUTCOME_CODES.get(error.status, "invalid"), error.message,
                                fhir=error.fhir, expression=error.expression)
        body = answer.get_data()
        head = (f"HTTP/1.1 {error.status} {reason}\r\nDate: {_http_date()}\r\n"
                f"Content-Type: {answer.content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode("latin-1")
        with contextlib.suppress(OSError):
            self.send_all(head + body)

    # -- the body's bytes, for Body ----------------------------------------------------------------

    def recv_into_buffer(self) -> None:
        if self.tracker is None:
            chunk = self.sock.recv(_RECV_BYTES)
        else:
            self.tracker.waiting(self)  # a body that is slow to come is as sheddable as a slow head
            try:
                chunk = self.sock.recv(_RECV_BYTES)
            finally:
                self.tracker.busy(self)
        if not chunk:
            raise HttpError(400, "The connection closed in the middle of the request body.")
        self.buffer += chunk

    def take(self, size: int) -> bytes:
        """Up to ``size`` bytes of the body, from the buffer or one read of the socket."""
        if not self.buffer:
            self.recv_into_buffer()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def take_line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
                return line
            if len(self.buffer) > MAX_REQUEST_LINE_BYTES:
                raise HttpError(400, "A chunk-size line is too long.")
            if _BARE_LINE_END.search(self.buffer):  # at once: the CRLF may never come
                raise HttpError(400, "The lines of a chunked body end with CRLF, not a bare CR or LF.")
            self.recv_into_buffer()

    def send_continue(self) -> None:
        self.send_all(b"HTTP/1.1 100 Continue\r\n\r\n")

    def send_all(self, data: bytes) -> None:
        """Send ``data``; a client that reads none of it for ``send_timeout`` seconds is dropped
        (TimeoutError), and while it does not read, the connection is sheddable like a slow head."""
        fd = getattr(self.sock, "fd", None)  # the green socket's own non-blocking socket
        sent = 0
        if fd is not None:
            try:
                sent = fd.send(data)  # almost every answer fits the send buffer: no wait, no bookkeeping
            except BlockingIOError:
                sent = 0
            if sent == len(data):
                return
        view = memoryview(data)[sent:]
        if self.tracker is not None:
            self.tracker.waiting(self)
        try:
            while view:
                self.sock.settimeout(self.send_timeout)  # per wait: each byte the client reads is progress
                sent = self.sock.send(view)
                view = view[sent:]
                if self.tracker is not None:
                    self.tracker.waiting(self)
        finally:
            if self.tracker is not None:
                self.tracker.busy(self)
            self.sock.settimeout(self.idle_timeout)


class Body(io.RawIOBase):
    """The request body as a stream: Content-Length bytes, or the de-chunked body; then EOF."""

    chunks_read = 0  # chunked: the chunks begun so far

    def __init__(self, connection: Connection, length: int | None, *, continue_first: bool = False) -> None:
        super().__init__()
        self.connection = connection
        self.remaining = length  # None: chunked, in the current chunk ``chunk_left`` bytes remain
        self.chunked = length is None
        self.chunk_left = 0
        self.finished = length == 0
        self.continue_pending = continue_first
        self.broken = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        data = self._read(len(target))
        target[:len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        return self._read(size)

    def readall(self) -> bytes:
        parts = []
        while not self.finished:
            parts.append(self._read(_RECV_BYTES))
        return b"".join(parts)

    def _read(self, size: int) -> bytes:
        """Body bytes; a malformed, truncated or stalled body is the client's error (400), and ends the connection."""
        if self.broken:
            raise Invalid("The request body could not be read.")
        try:
            return self._read_framed(size)
        except HttpError as exc:
            self.broken = True
            raise Invalid(exc.message) from None
        except (TimeoutError, ConnectionError):
            self.broken = True
            raise Invalid("The request body did not arrive completely.") from None

    def _read_framed(self, size: int) -> bytes:
        if self.finished or size == 0:
            return b""
        if self.continue_pending:
            self.continue_pending = False
            self.connection.send_continue()
        if not self.chunked:
            assert self.remaining is not None
            data = self.connection.take(min(size, self.remaining))
            self.remaining -= len(data)
            self.finished = self.remaining == 0
            return data
        if self.chunk_left == 0:
            self._next_chunk()
            if self.finished:
                return b""
        data = self.connection.take(min(size, self.chunk_left))
        self.chunk_left -= len(data)
        if self.chunk_left == 0 and self.connection.take_line() != b"":
            raise HttpError(400, "A chunk is longer than its declared size.")
        return data

    def _next_chunk(self) -> None:
        line = self.connection.take_line()
        found = _CHUNK_LINE.fullmatch(line)
        if found is None:
            raise HttpError(400, "A chunk-size line is not a hexadecimal size (at most 16 digits) and extensions.")
        size = int(found.group(1), 16)
        self.chunks_read += 1
        if self.chunks_read > MAX_CHUNKS:
            raise HttpError(400, f"A chunked body may have at most {MAX_CHUNKS} chunks; send larger ones.")
        if size == 0:
            self._read_trailers()
            self.finished = True
        self.chunk_left = size

    def _read_trailers(self) -> None:
        """The trailer section after the last chunk: well-formed fields, then ignored."""
        total = 0
        while line := self.connection.take_line():
            total += len(line) + 2
            if total > MAX_HEAD_BYTES:
                raise HttpError(400, "The trailer section is too large.")
            if _CONTROL.search(line):
                raise HttpError(400, "A trailer field holds a control character.")
            name, _ = _field(line)
            if name in _NOT_IN_TRAILERS:
                raise HttpError(400, "Framing and routing fields are not allowed in trailers.")

    def can_skip_rest(self) -> bool:
        """Whether what the app left unread can be skipped to keep the connection: a small, framed rest."""
        if self.finished:
            return True
        return not (self.broken or self.continue_pending or self.chunked) and (self.remaining or 0) <= DRAIN_LIMIT_BYTES

    def skip_rest(self) -> bool:
        """Read and drop the rest of the body (after the response went out); whether that worked."""
        try:
            while not self.finished:
                self._read(_RECV_BYTES)
        except Invalid:
            return False
        return True


class Tracker(Protocol):
    """What the listener learns of a connection's life, to shed idle and slow ones when full."""

    def waiting(self, connection: Connection) -> None: ...
    def idle(self, connection: Connection) -> None: ...
    def busy(self, connection: Connection) -> None: ...
    def closed(self, connection: Connection) -> None: ...
    def refused(self, connection: Connection, status: int) -> None: ...


def serve_connection(sock: Any, peer: Any, app: WsgiApp, server: tuple[str, int], *,
                     head_timeout: float | None = None) -> None:
    """Serve HTTP/1.1 on an accepted socket until the client closes, idles out or errs."""
    Connection(sock, peer, app, server, head_timeout=head_timeout).serve()


def _fhir_target(head: bytes) -> bool:
    """Whether the request line at the start of ``head`` (maybe malformed, maybe cut short) targets
    /fhir: its refusal is then an OperationOutcome. The target is the text after the first space."""
    line = head[:MAX_REQUEST_LINE_BYTES]
    space = line.find(b" ")
    if space < 0:
        return False
    target = line[space + 1:].lstrip(b" ").split(b" ", 1)[0]
    if target[:7].lower() == b"http://" or target[:8].lower() == b"https://":  # absolute-form
        slash = target.find(b"/", target.find(b"//") + 2)
        target = target[slash:] if slash >= 0 else b"/"
    path = target.split(b"?", 1)[0][:64]
    if b"%" in path:
        path = unquote_to_bytes(path)
    return is_fhir_path(path.decode("latin-1"))


def _origin_form(target: bytes) -> tuple[str, str, str]:
    """(raw target, PATH_INFO, QUERY_STRING) of a request target; absolute-form is reduced to its path.

    The target is visible ASCII (RFC 9112 §3.2) and what its percent-escapes encode is UTF-8 without
    NUL, in the path and in the query: every route then reads its arguments without a decoding error.
    PATH_INFO is the decoded path's bytes as latin-1 (PEP 3333); QUERY_STRING stays percent-encoded."""
    if not _TARGET.fullmatch(target):
        raise HttpError(400, "The request target must be visible ASCII characters; percent-encode the others.",
                        expression="target", fhir=_fhir_target(b"GET " + target))
    raw = target.decode("ascii")
    if target.startswith((b"http://", b"https://")):
        after_scheme = target.split(b"//", 1)[1]
        slash = after_scheme.find(b"/")
        target = after_scheme[slash:] if slash >= 0 else b"/"
    elif target == b"*":
        return raw, "*", ""
    elif not target.startswith(b"/"):
        raise HttpError(400, "The request target must be a path starting with '/'.")
    path, _, query = target.partition(b"?")
    if b"%" not in target:  # visible ASCII, nothing encoded: valid as it stands
        return raw, path.decode("ascii"), query.decode("ascii")
    decoded_path = _decoded(path, "path", path) if b"%" in path else path
    if b"%" in query:
        _decoded(query, "query", path)
    return raw, decoded_path.decode("latin-1"), query.decode("ascii")


def _decoded(part: bytes, name: str, path: bytes) -> bytes:
    """The bytes a path or query encodes; 400 if an escape is malformed or they are not UTF-8 text."""
    if _BAD_PERCENT.search(part):
        raise HttpError(400, f"The request {name} has a '%' that is not followed by two hexadecimal digits.",
                        expression=name, fhir=is_fhir_path(path.decode("ascii")))
    if not _NOT_ASCII_TEXT_ESCAPE.search(part):  # every escape encodes ASCII other than NUL: UTF-8 text
        return unquote_to_bytes(part) if name == "path" else part
    decoded = unquote_to_bytes(part)
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, f"The request {name} must encode UTF-8 text.", expression=name,
                        fhir=is_fhir_path(path.decode("ascii"))) from None
    if b"\x00" in decoded:
        raise HttpError(400, f"The request {name} must not encode a NUL character.", expression=name,
                        fhir=is_fhir_path(path.decode("ascii")))
    return decoded


def _parse_headers(lines: list[bytes]) -> dict[str, str]:
    """Header fields (``lines[1:]``, the request line first) as WSGI names (``CONTENT_TYPE``, ``ACCEPT``…),
    repeated fields joined with commas. The lines hold no control character but HTAB (the caller checked)."""
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise HttpError(400, "Folded header lines are not allowed.")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise HttpError(400, "A header line is not 'name: value'.")
        if b"_" in name:  # Foo_Bar would pass for Foo-Bar once in the environ: dropped, as most servers do
            continue
        key = name.decode("ascii").upper().replace("-", "_")
        text = value.strip(b" \t").decode("latin-1")
        if key in headers:
            if key == "HOST":  # RFC 9112 §3.2: which one would a proxy have used?
                raise HttpError(400, "A request must not carry more than one Host header.", expression="Host")
            if key == "CONTENT_LENGTH" and headers[key] != text:
                raise HttpError(400, "The request has conflicting Content-Length headers.")
            if key != "CONTENT_LENGTH":
                headers[key] = f"{headers[key]}, {text}" if key != "COOKIE" else f"{headers[key]}; {text}"
            continue
        headers[key] = text
    if "HOST" in headers and not _HOST.fullmatch(headers["HOST"]):
        raise HttpError(400, "The Host header is not a host name or address with an optional port.",
                        expression="Host")
    return headers


def _field(line: bytes) -> tuple[str, str]:
    """A header (or trailer) line as its WSGI name and its value; the name is empty for names with `_`.

    The line holds no control character (the caller checked)."""
    if line[:1] in (b" ", b"\t"):
        raise HttpError(400, "Folded header lines are not allowed.")
    name, colon, value = line.partition(b":")
    if not colon or not _TOKEN.fullmatch(name):
        raise HttpError(400, "A header line is not 'name: value'.")
    if b"_" in name:
        return "", ""
    return name.decode("ascii").upper().replace("-", "_"), value.strip(b" \t").decode("latin-1")


_OUTCOME_CODES = {408: "timeout", 413: "too-long", 414: "too-long", 431: "too-long", 417: "not-supported",
                  501: "not-supported", 505: "not-supported"}


def _says_close(headers: list[tuple[str, str]]) -> bool:
    return any(name.lower() == "connection" and "close" in value.lower() for name, value in headers)


_date_cache: list[Any] = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, formatdate(now, usegmt=True)]
    return str(_date_cache[1])
