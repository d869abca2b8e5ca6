"""One HTTP listener per bind address, shared by every nameko container of the process."""
from __future__ import annotations

import ctypes
import logging
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import eventlet
import eventlet.semaphore
from nameko.exceptions import ConfigurationError
from nameko.web.server import BindAddress, WebServer, parse_address
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from services.shared import readiness
from services.shared.nameko_ext.config import settings_of
from services.shared.settings import Settings
from services.shared.web.capabilities import capability_statement, openapi_document
from services.shared.web.http11 import Connection
from services.shared.web.responses import (
    error_response,
    fhir_json,
    internal_error,
    is_fhir_path,
    json_response,
)

_log = logging.getLogger(__name__)

# the default registry is the process registry: bus and database metrics land there too
REQUESTS = Counter(
    "maillage_http_requests_total", "HTTP requests answered.", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "maillage_http_request_duration_seconds", "Time to produce an HTTP response.", ["method", "route"],
    registry=REGISTRY,
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
IDLE_TIMEOUT_SECONDS = 75
# a connection is "slow" once its client made no progress (a byte of a head or body sent, or of an
# answer read) for this long: a connection that just connected is not slow yet, and is shed last
SHED_GRACE_SECONDS = 1.0
_PLACEHOLDER = re.compile(r"<[^>]*>")
UNMATCHED = "unmatched"  # the route label of 404s, so scanners cannot blow up label cardinality
UNPARSED = "unparsed"  # the route of a request the HTTP layer refused before it could be routed
REQUEST_ID_KEY = "maillage.request_id"  # in the WSGI environ: the id the access line and X-Request-Id carry
ERROR_KEY = "maillage.error"  # in the WSGI environ: the type of the error an answer reports, for the access line
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
BASE_URL_KEY = "maillage.base_url"  # in the WSGI environ: MAILLAGE_PUBLIC_BASE_URL, when set
# One line per request (MAILLAGE_HTTP_ACCESS_LOG=off, or this logger's level, silences it).
_access_log = logging.getLogger("maillage.access")


def public_base_url(request: Request) -> str:
    """The base of the links the API writes (Bundle links, ``fullUrl``, the CapabilityStatement's url):
    MAILLAGE_PUBLIC_BASE_URL, else the listener's own address; never the request's Host header,
    which the caller chooses (a forged Host would point the links, and what follows them, elsewhere)."""
    configured = request.environ.get(BASE_URL_KEY)
    if configured:
        return str(configured)
    host, port = str(request.environ.get("SERVER_NAME", "127.0.0.1")), request.environ.get("SERVER_PORT", "80")
    if ":" in host:  # an IPv6 listener
        host = f"[{host}]"
    return f"http://{host}:{port}"


class EdgeRequest(Request):
    """The request handlers receive: werkzeug's, plus the matched path values and the caller."""

    path_values: dict[str, Any]
    principal: Any = None  # a services.shared.auth.Principal; None on public routes


class RoutingApp:
    """The WSGI app: matches against the live set of routes, rebuilt when one (un)registers."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._providers: list[Any] = []
        self._map: Map | None = None
        self._static: dict[str, list[Rule]] = {}  # rules without placeholders, by path
        self._builtins: dict[str, Callable[[Request], Response]] = {
            "/healthz": self._healthz, "/readyz": self._readyz, "/metrics": self._metrics,
            "/fhir/metadata": self._metadata, "/api/v1/openapi.json": self._openapi,
        }

    @property
    def providers(self) -> Iterable[Any]:
        return tuple(self._providers)

    def register(self, provider: Any) -> None:
        methods = set(provider.method.split(","))
        for other in self._providers:
            if _shape(other.url) == _shape(provider.url) and methods & set(other.method.split(",")):
                raise ConfigurationError(
                    f"{provider.method} {provider.url} is declared by both {_name(other)} and {_name(provider)}."
                )
        if provider.url in self._builtins:
            raise ConfigurationError(f"{provider.url} is served by the web server itself ({_name(provider)}).")
        self._providers.append(provider)
        self._map = None

    def unregister(self, provider: Any) -> None:
        if provider in self._providers:
            self._providers.remove(provider)
            self._map = None

    def url_map(self) -> Map:
        if self._map is None:
            rules = [Rule(path, methods=["GET"], endpoint=handler) for path, handler in self._builtins.items()]
            for provider in self._providers:
                rule = provider.get_url_rule()
                rule.endpoint = provider
                rules.append(rule)
            # no trailing-slash redirects: they would answer with an HTML page
            self._map = Map(rules, strict_slashes=False, merge_slashes=False)
            static: dict[str, list[Rule]] = {}
            for rule in self._map.iter_rules():
                if not _PLACEHOLDER.search(rule.rule) and rule.defaults is None and rule.redirect_to is None:
                    static.setdefault(rule.rule, []).append(rule)
            self._static = static
        return self._map

    def _match(self, request: EdgeRequest) -> tuple[Rule, Any]:
        """werkzeug's match; a path that is exactly a rule without placeholders, with one of its
        methods, is looked up directly (werkzeug tries static parts first, so it would pick the same)."""
        url_map = self.url_map()
        path, method = request.environ.get("PATH_INFO") or "/", request.method
        if path.isascii():
            for rule in self._static.get(path, ()):
                if rule.methods is not None and method in rule.methods:
                    return rule, {}
        return url_map.bind_to_environ(request.environ).match(return_rule=True)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = EdgeRequest(environ, shallow=True)  # the entrypoint unsets shallow once it takes the body
        started = time.perf_counter()
        request_id = environ.get("HTTP_X_REQUEST_ID", "")
        if not _REQUEST_ID.fullmatch(request_id):  # the caller's own id when it is a plain token, else ours
            request_id = uuid.uuid4().hex
        environ[REQUEST_ID_KEY] = request_id
        if self.settings.public_base_url:
            environ[BASE_URL_KEY] = self.settings.public_base_url
        route, response = self._dispatch(request)
        method = request.method if request.method in _METHODS else "OTHER"
        elapsed = time.perf_counter() - started
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        LATENCY.labels(method, route).observe(elapsed)
        response.headers["X-Request-Id"] = request_id
        if self.settings.http_access_log and _access_log.isEnabledFor(logging.INFO):
            # the route template, never the path or the query: both may carry identifiers (?identifier=<INS>)
            _access_log.info("http request", extra={
                "method": method, "route": route, "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1), "request_id": request_id,
                "error": environ.get(ERROR_KEY),
            })
        return response(environ, start_response)

    def _dispatch(self, request: EdgeRequest) -> tuple[str, Response]:
        fhir = is_fhir_path(request.path)
        try:
            rule, values = self._match(request)
        except MethodNotAllowed as exc:
            allow = ", ".join(sorted(exc.valid_methods or ()))
            message = f"{request.method} is not allowed here; use {allow}."
            return UNMATCHED, error_response(405, "not-supported", message, fhir=fhir, headers={"Allow": allow})
        except HTTPException as exc:
            code = exc.code or 404
            message = "No resource or operation at this address." if code == 404 else (exc.description or "")
            return UNMATCHED, error_response(code, "not-found" if code == 404 else "invalid", message, fhir=fhir)
        request.path_values = dict(values)
        # built-in routes map to our own methods, the others to nameko entrypoints
        handle = getattr(rule.endpoint, "handle_request", rule.endpoint)
        try:
            return rule.rule, handle(request)
        except Exception as exc:  # noqa: BLE001 - entrypoints map their own errors; this is a bug in ours
            return rule.rule, internal_error(exc, fhir=fhir, route=rule.rule)

    def _healthz(self, request: Request) -> Response:
        return json_response({"status": "pass"}, headers={"Cache-Control": "no-store"})

    def _readyz(self, request: Request) -> Response:
        results = readiness.run_checks()
        checks = {
            name: {"status": "pass"} if reason is None else {"status": "fail", "reason": reason}
            for name, reason in results.items()
        }
        ready = all(reason is None for reason in results.values())
        body = {"status": "pass" if ready else "fail", "checks": checks}
        return json_response(body, status=200 if ready else 503, headers={"Cache-Control": "no-store"})

    def _metrics(self, request: Request) -> Response:
        return Response(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)

    def _metadata(self, request: Request) -> Response:
        return fhir_json(capability_statement(self.providers, public_base_url(request) + "/fhir"))

    def _openapi(self, request: Request) -> Response:
        return json_response(openapi_document(self.providers))


def _shape(url: str) -> str:
    """`/Patient/<id>` and `/Patient/<int:pid>` are the same route to a client."""
    return _PLACEHOLDER.sub("<>", url)


def _name(provider: Any) -> str:
    container = getattr(provider, "container", None)
    return f"{getattr(container, 'service_name', '?')}.{getattr(provider, 'method_name', '?')}"


TRIM_AFTER_BYTES = 8 << 20  # a request that held this much of the budget: give freed memory back to the OS after


def _malloc_trim() -> Callable[[int], Any] | None:
    """glibc's malloc_trim(0), which returns the free memory of every arena to the OS; None elsewhere."""
    try:
        # the process's own symbols: no ctypes.util.find_library, which runs ldconfig in a subprocess
        # (and so yields to the hub in the middle of a listener's construction)
        process = ctypes.CDLL(None)
    except OSError:
        return None
    return getattr(process, "malloc_trim", None)


class BodyBudget:
    """The bytes of request bodies a process holds at once: an entrypoint takes each piece it reads
    from it, and gives all back once the request is answered. Green threads share one OS thread.

    glibc keeps what large requests freed (their bodies, decoded JSON, MIME and CMS copies) in its
    arenas: after a large one, once its green thread has let go of it, ``malloc_trim`` hands it back."""

    trim: Callable[[int], Any] | None = None

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._trim_pending = False
        if BodyBudget.trim is None:
            BodyBudget.trim = _malloc_trim()

    def take(self, size: int) -> bool:
        if self.used + size > self.capacity:
            return False
        self.used += size
        return True

    def give_back(self, size: int) -> None:
        self.used -= size
        if size >= TRIM_AFTER_BYTES and not self._trim_pending and self.trim is not None:
            self._trim_pending = True
            # runs once this green thread waits: its response sent, the request's objects released
            eventlet.spawn_after(0.05, self._trim_now)

    def _trim_now(self) -> None:
        self._trim_pending = False
        if self.used < TRIM_AFTER_BYTES and self.trim is not None:  # not while other large bodies are held
            self.trim(0)


class Listener:
    """The socket, accept loop and live route set for one bind address, refcounted by containers."""

    def __init__(self, address: BindAddress, settings: Settings) -> None:
        self.address = address
        self.settings = settings
        self.users = 0
        self.app = RoutingApp(settings)
        self.body_budget = BodyBudget(settings.http_body_budget_bytes)
        self.authenticator: Any = None
        self._sock: Any = None
        self._serving = False
        self._name: tuple[str, int] = (address[0], address[1])
        self._accepting: eventlet.greenthread.GreenThread | None = None
        # every open connection and its green thread; no pool: a full pool would block accept()
        self._connections: dict[Connection, Any] = {}
        # connections waiting on their client (for a head, a body, or to read an answer), with the time
        # of its last progress, the longest without progress first: the first shed once past the grace
        self._waiting: dict[Connection, float] = {}
        # kept-alive connections waiting for a next request that has not begun, the oldest first: shed next
        self._idle: dict[Connection, None] = {}
        self._starting = eventlet.semaphore.Semaphore()
        self.shed_count = 0  # connections closed to make room, since the start
        self.refused_count = 0  # connections refused because every open one was busy

    def start(self) -> None:
        # containers start concurrently: a second one waits for the first to bind (building the
        # authenticator may yield to the hub; binding twice would fail with "Address already in use")
        with self._starting:
            self._start()

    def _start(self) -> None:
        if self._sock is not None:
            return
        # built once per listener, not per request; imported late so a process without HTTP needs no keys
        from services.shared.auth import authenticator_from_settings

        self.authenticator = authenticator_from_settings(self.settings)
        adopted = _adopted.get(self.address)
        if adopted is not None:  # `maillage up --workers N`: a listening socket the supervisor handed over
            self._sock = eventlet.greenio.GreenSocket(adopted.dup())
        else:
            # no SO_REUSEPORT: a second `maillage up` on the same port must fail, not silently share it
            self._sock = eventlet.listen(self.address, reuse_port=False, backlog=1024)  # bursts of connects
        self._sock.settimeout(None)  # kombu may have set a global default socket timeout
        self._name = self._sock.getsockname()[:2]  # SERVER_NAME and SERVER_PORT of every request
        self._serving = True
        # owned by the listener, not by a container, so it outlives the container that started it
        self._accepting = eventlet.spawn(self._accept)

    def _accept(self) -> None:
        while self._serving:
            try:
                sock, addr = self._sock.accept()
            except OSError:
                if not self._serving:
                    return
                _log.exception("accept failed on %s:%s", *self.address)
                eventlet.sleep(0.1)  # e.g. out of file descriptors: do not spin
                continue
            full = len(self._connections) >= self.settings.http_max_connections
            if full and not self._make_room():
                _refuse_busy(sock)
                self.refused_count += 1
                continue
            # responses go in one send, but a large body follows its head in a second one: no Nagle delay
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # idle keep-alive connections must not hold a green thread forever; above ingress idle timeouts
            sock.settimeout(IDLE_TIMEOUT_SECONDS)
            connection = Connection(sock, addr, self.app, self._name,
                                    head_timeout=self.settings.http_head_timeout_seconds, tracker=self)
            self._waiting[connection] = time.monotonic()
            # a GreenThread of its own (close() can kill it); never a bounded pool, whose spawn would block
            self._connections[connection] = eventlet.spawn(self._serve, connection)
            if full:
                # at the limit, in a burst of connects: let the new connection read the head its client
                # sent before the next accept sheds a connection (a head complete at once is not sheddable)
                eventlet.sleep(0)

    def _make_room(self) -> bool:
        """Shed one connection waiting on its client; False when every one is busy with a request.

        First the one whose client made no progress for longest, if that is past the grace (a slow head
        or body, a client that does not read its answers); then the oldest idle keep-alive connection;
        then, every waiting client having made progress within the grace, still the one without progress
        for longest: never the newest, which in a burst of connects is one not read yet (a legitimate
        client whose whole head is already there)."""
        victim: Connection | None = None
        if self._waiting:
            stalled = next(iter(self._waiting))
            if time.monotonic() - self._waiting[stalled] > SHED_GRACE_SECONDS:
                victim = stalled
        if victim is None and self._idle:
            victim = next(iter(self._idle))
        if victim is None and self._waiting:
            victim = next(iter(self._waiting))
        if victim is None:
            return False
        self._waiting.pop(victim, None)
        self._idle.pop(victim, None)
        self._connections.pop(victim, None)  # counted out now: its thread ends at its next read or send
        victim.shed()
        self.shed_count += 1
        if self.shed_count % 1000 == 1:
            _log.warning("HTTP connections at the limit of %s: shedding idle or slow ones (%s so far)",
                         self.settings.http_max_connections, self.shed_count)
        return True

    # the Tracker protocol of http11.Connection
    def waiting(self, connection: Connection) -> None:
        """It waits on its client, which just made progress (or began to be waited on)."""
        if connection in self._connections:
            self._idle.pop(connection, None)
            self._waiting.pop(connection, None)
            self._waiting[connection] = time.monotonic()

    def idle(self, connection: Connection) -> None:
        if connection in self._connections:
            self._waiting.pop(connection, None)
            self._idle[connection] = None

    def busy(self, connection: Connection) -> None:
        self._waiting.pop(connection, None)
        self._idle.pop(connection, None)

    def closed(self, connection: Connection) -> None:
        self._waiting.pop(connection, None)
        self._idle.pop(connection, None)
        self._connections.pop(connection, None)

    def refused(self, connection: Connection, status: int) -> None:
        """A request the server refused before routing it (malformed, too large, too slow): its access line."""
        if self.settings.http_access_log and _access_log.isEnabledFor(logging.INFO):
            _access_log.info("http request", extra={
                "method": None, "route": UNPARSED, "status": status, "duration_ms": None,
                "request_id": None, "error": "refused before routing",
            })

    def _serve(self, connection: Connection) -> None:
        if not self._serving:
            self.closed(connection)
            connection.sock.close()
            return
        try:
            connection.serve()
        except OSError:
            # a client that resets or vanishes is routine, not a fault of ours (see nameko issue #368)
            _log.debug("connection from a client ended abruptly", exc_info=True)

    def close(self) -> None:
        self._serving = False
        if self._accepting is not None:
            self._accepting.kill()
        if self._sock is not None:
            self._sock.close()
        current = eventlet.getcurrent()
        for thread in list(self._connections.values()):
            if thread is not current:
                thread.kill()
        self._connections.clear()
        self._waiting.clear()
        self._idle.clear()


_BUSY_BODY = b'{"title": "Service Unavailable", "status": 503, "detail": "The server is busy; retry in a moment."}'
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\n"
         b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY))


def _refuse_busy(sock: Any) -> None:
    """Every open connection is busy with a request: answer 503 without waiting on the client, close."""
    try:
        sock.fd.send(_BUSY)  # the raw non-blocking socket: the accept loop never waits on a client
    except (OSError, AttributeError):
        pass
    finally:
        sock.close()


_listeners: dict[BindAddress, Listener] = {}
_adopted: dict[BindAddress, socket.socket] = {}


def adopt_socket(address: str, sock: socket.socket) -> None:
    """Serve ``address`` on ``sock``, already bound and listening, instead of binding it here.

    For several processes sharing one port: each gets its own SO_REUSEPORT socket from a
    supervisor, and the kernel spreads the connections over them.
    """
    _adopted[parse_address(address)] = sock


def acquire(address: BindAddress, settings: Settings) -> Listener:
    listener = _listeners.get(address)
    if listener is None:
        listener = _listeners[address] = Listener(address, settings)
    listener.users += 1
    return listener


def release(listener: Listener) -> None:
    listener.users -= 1
    if listener.users <= 0:
        _listeners.pop(listener.address, None)
        listener.close()


class SharedWebServer(WebServer):
    """A container's handle on the process-wide listener for its bind address.

    nameko shares a WebServer only within one container; each container gets one of these
    instead, and they share a `Listener`: the first to start listens, the last to stop closes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._listener: Listener | None = None
        self.settings: Settings | None = None
        self._started = False

    # nameko introspects extensions with getmembers(): properties here must be cheap and side-effect free
    @property
    def bind_addr(self) -> BindAddress | None:
        return self._listener.address if self._listener is not None else None

    @property
    def authenticator(self) -> Any:
        """The listener's Authenticator, None outside setup()..stop()."""
        return self._listener.authenticator if self._listener is not None else None

    @property
    def body_budget(self) -> BodyBudget | None:
        """The listener's budget for buffered request bodies, None outside setup()..stop()."""
        return self._listener.body_budget if self._listener is not None else None

    def setup(self) -> None:
        self.settings = settings_of(self.container)
        self._listener = acquire(parse_address(self.settings.http_address), self.settings)

    def start(self) -> None:
        assert self._listener is not None, "nameko calls setup() before start()"
        self._listener.start()
        # routes go live only now: before start() the container's dependencies are not running
        for provider in self._providers:
            self._listener.app.register(provider)
        self._started = True

    def register_provider(self, provider: Any) -> None:
        super().register_provider(provider)
        if self._started and self._listener is not None:
            self._listener.app.register(provider)

    def unregister_provider(self, provider: Any) -> None:
        if self._listener is not None:
            self._listener.app.unregister(provider)
        super().unregister_provider(provider)

    def stop(self) -> None:
        self.wait_for_providers()  # our entrypoints unregister as they stop; in-flight requests finish
        self._release()

    def kill(self) -> None:
        # entrypoints are not told to unregister on kill; dead routes must not stay reachable
        for provider in list(self._providers):
            self.unregister_provider(provider)
        self._release()

    def _release(self) -> None:
        self._started = False
        if self._listener is not None:
            listener, self._listener = self._listener, None
            release(listener)

    def get_wsgi_app(self) -> RoutingApp:
        assert self._listener is not None, "only available between setup() and stop()"
        return self._listener.app

    def context_data_from_headers(self, request: Request) -> dict[str, str]:
        traceparent = request.headers.get("traceparent")
        return {"traceparent": traceparent} if traceparent else {}
