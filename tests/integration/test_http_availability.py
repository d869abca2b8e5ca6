"""The HTTP edge stays available under hostile clients: slow heads, connection floods, large bodies.

Everything goes over real TCP to a real listener; nothing here measures time (waits are generous
client timeouts, and the assertions are about what was answered).
"""
from __future__ import annotations

import contextlib
import resource
import socket
from collections.abc import Iterator
from pathlib import Path

import eventlet
import httpx
import pytest
from eventlet.event import Event
from nameko.runners import ServiceRunner

from services.shared.readiness import broker_check, unregister_check
from services.shared.settings import Settings
from services.shared.web import http, register_check
from services.shared.web.http11 import MAX_PIPELINED
from tests.support.platform import eventually, free_port

pytestmark = pytest.mark.integration
SLOW_CONNECTIONS = 2000
released = Event()


class AvailabilityEdge:
    name = "test_availability_edge"

    @http("GET", "/api/v1/ping", public=True)
    def ping(self, request):
        return {"pong": True}

    @http("POST", "/api/v1/upload", public=True, max_body_bytes=1 << 20)
    def upload(self, request):
        released.wait()  # holds its body until the test lets it go
        return {"size": len(request.get_data())}

    @http("GET", "/api/v1/big", public=True)
    def big(self, request):
        return 200, {"Content-Type": "application/octet-stream"}, b"b" * (512 * 1024)

    @http("GET", "/api/v1/hold", public=True)
    def hold(self, request):
        released.wait()  # a request that stays in the application until the test lets it go
        return {"held": True}


def start(var_dir: Path, **overrides: object) -> tuple[ServiceRunner, str, int]:
    port = free_port()
    settings = Settings(environment="test", var_dir=var_dir, http_address=f"127.0.0.1:{port}").with_overrides(
        **overrides)
    runner = ServiceRunner({"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/", "MAILLAGE_SETTINGS": settings})
    runner.add_service(AvailabilityEdge)
    runner.start()
    return runner, f"http://127.0.0.1:{port}", port


@pytest.fixture
def enough_file_descriptors() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 3 * SLOW_CONNECTIONS + 1000  # both ends of each connection live in this process
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _open_slow(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that each sent the start of a request head and nothing more yet."""
    def one(_: int) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: a\r\n")
        return sock

    return list(eventlet.GreenPool(100).imap(one, range(count)))


def _trickle(socks: list[socket.socket], stop: Event) -> None:
    """A header byte on every connection every two seconds: slowloris."""
    while not stop.ready():
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.send(b"X")
        eventlet.sleep(2)


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.0)
    try:
        sock.recv(4096)  # end of file, or a refusal the server sent before closing
    except BlockingIOError:
        return False  # still open: nothing to read
    except OSError:
        pass  # reset
    return True


def test_normal_requests_are_answered_while_2000_slow_connections_are_open(tmp_path, enough_file_descriptors):
    runner, base, port = start(tmp_path, http_max_connections=500)
    stop = Event()
    socks: list[socket.socket] = []
    try:
        socks = _open_slow(port, SLOW_CONNECTIONS)
        trickler = eventlet.spawn(_trickle, socks, stop)
        eventlet.sleep(0.5)  # let the server read what they sent
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(20):
                assert client.get("/readyz").status_code == 200
                assert client.get("/api/v1/ping").json() == {"pong": True}
        # over the limit the server sheds connections rather than stop accepting: most slow ones are gone
        closed = sum(_closed_by_server(sock) for sock in socks)
        assert closed >= SLOW_CONNECTIONS - 500
        stop.send()
        trickler.wait()
    finally:
        for sock in socks:
            sock.close()
        runner.kill()


def test_a_head_that_does_not_arrive_in_time_is_refused_with_408(tmp_path):
    runner, base, port = start(tmp_path, http_head_timeout_seconds=1)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as slow:
            slow.sendall(b"GET /api/v1/ping HTTP/1.1\r\n")
            answer = b""
            for _ in range(200):  # a header byte every 0.2 s would keep it open forever without the deadline
                try:
                    slow.sendall(b"X")
                except OSError:
                    break
                eventlet.sleep(0.2)
                slow.settimeout(0.0)
                try:
                    answer += slow.recv(4096)
                except BlockingIOError:
                    continue
                finally:
                    slow.settimeout(60)
                if answer:
                    break
            assert answer.startswith(b"HTTP/1.1 408 ")
        with socket.create_connection(("127.0.0.1", port), timeout=60) as silent:
            assert silent.recv(4096) == b""  # nothing sent: closed without an answer
    finally:
        runner.kill()


def test_an_idle_keep_alive_connection_is_not_held_to_the_head_deadline(tmp_path):
    runner, base, _ = start(tmp_path, http_head_timeout_seconds=1)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            first = client.get("/api/v1/ping")
            eventlet.sleep(1.5)  # idle longer than the head deadline: the idle timeout applies instead
            second = client.get("/api/v1/ping")
            assert first.status_code == second.status_code == 200
            assert first.extensions["network_stream"] is second.extensions["network_stream"]
    finally:
        runner.kill()


def test_when_every_connection_is_busy_new_ones_get_503_and_accept_goes_on(tmp_path):
    global released
    released = Event()
    runner, base, port = start(tmp_path, http_max_connections=2)
    try:
        holders = [eventlet.spawn(httpx.get, f"{base}/api/v1/hold", timeout=60) for _ in range(2)]
        eventlet.sleep(0.5)  # both requests are in the application
        refused = httpx.get(f"{base}/api/v1/ping", timeout=60)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        released.send()
        assert [holder.wait().status_code for holder in holders] == [200, 200]
        assert httpx.get(f"{base}/api/v1/ping", timeout=60).status_code == 200
    finally:
        if not released.ready():
            released.send()
        runner.kill()


def test_request_bodies_beyond_the_process_budget_get_503_with_retry_after(tmp_path):
    global released
    released = Event()
    runner, base, _ = start(tmp_path, http_body_budget_bytes=(5 << 20) // 2)  # room for two bodies of 1 MiB
    body = b"x" * (1 << 20)
    try:
        holders = [eventlet.spawn(httpx.post, f"{base}/api/v1/upload", content=body, timeout=60) for _ in range(2)]
        eventlet.sleep(0.5)  # both bodies are read and held
        refused = httpx.post(f"{base}/api/v1/upload", content=body, timeout=60)
        assert (refused.status_code, refused.headers["retry-after"]) == (503, "1")
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == "The server holds too many request bodies right now; retry shortly."
        chunked = httpx.post(f"{base}/api/v1/upload", content=iter([body[:4096]] * 256), timeout=60)
        assert chunked.status_code == 503  # a chunked body counts as it arrives, all the same
        small = eventlet.spawn(httpx.post, f"{base}/api/v1/upload", content=b"y" * 1000, timeout=60)  # fits
        released.send()
        assert [holder.wait().json() for holder in holders] == [{"size": 1 << 20}] * 2
        assert small.wait().json() == {"size": 1000}
        # once answered, the bodies' bytes are given back
        assert httpx.post(f"{base}/api/v1/upload", content=body, timeout=60).json() == {"size": 1 << 20}
        assert httpx.post(f"{base}/api/v1/upload", content=body, timeout=60).json() == {"size": 1 << 20}
    finally:
        if not released.ready():
            released.send()
        runner.kill()


class BrokerProxy:
    """A TCP relay to RabbitMQ that counts the connections made through it and can cut them all."""

    def __init__(self, port: int = 0) -> None:
        self.listener = eventlet.listen(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.sockets: list[socket.socket] = []
        self.pipes: list[eventlet.greenthread.GreenThread] = []
        self.thread = eventlet.spawn(self._accept)

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            self.accepted += 1
            upstream = socket.create_connection(("127.0.0.1", 5672))
            self.sockets += [client, upstream]
            self.pipes += [eventlet.spawn(self._pipe, client, upstream), eventlet.spawn(self._pipe, upstream, client)]

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.thread.kill()
        for pipe in self.pipes:  # before their sockets close: a green thread must not wait on a closed descriptor
            pipe.kill()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def test_readiness_holds_one_broker_connection_and_turns_false_when_the_broker_is_gone(tmp_path):
    runner, base, _ = start(tmp_path)
    proxy = BrokerProxy()
    register_check("test.broker", broker_check(f"amqp://guest:guest@127.0.0.1:{proxy.port}/"))
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            answers = list(eventlet.GreenPool(50).imap(lambda _: client.get("/readyz").status_code, range(500)))
            assert answers == [200] * 500
            for _ in range(3):  # past the cache's second too
                eventlet.sleep(1.1)
                assert client.get("/readyz").status_code == 200
            assert proxy.accepted == 1  # 503 probes, one broker connection
            proxy.stop()  # the broker is unreachable: the held connection is cut, new ones are refused
            failed = eventually(lambda: (r := client.get("/readyz")).status_code == 503 and r)
            assert failed.json()["checks"]["test.broker"]["status"] == "fail"
            proxy = BrokerProxy(proxy.port)  # back: a new connection is opened on the next check
            eventually(lambda: client.get("/readyz").status_code == 200)
            assert proxy.accepted == 1
    finally:
        unregister_check("test.broker")
        proxy.stop()
        runner.kill()


def test_readiness_results_are_reused_for_a_second_but_a_new_check_is_seen_at_once(tmp_path):
    runner, base, _ = start(tmp_path)
    calls: list[int] = []
    register_check("test.counted", lambda: calls.append(1))
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(50):
                assert client.get("/readyz").status_code == 200
            assert 1 <= len(calls) < 50
            register_check("test.down", _fail)
            assert client.get("/readyz").status_code == 503  # registering forgets the cached results
    finally:
        unregister_check("test.counted")
        unregister_check("test.down")
        runner.kill()


def _fail() -> None:
    raise ConnectionError("down")


def test_connections_stalled_in_a_body_are_shed_for_new_ones(tmp_path):
    runner, base, port = start(tmp_path, http_max_connections=3)
    head = (b"POST /api/v1/upload HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 100000\r\n\r\n")
    stalled = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(3)]
    try:
        for sock in stalled:
            sock.sendall(head + b"x" * 10)  # and then nothing more: the body never completes
        eventlet.sleep(0.5)
        assert httpx.get(f"{base}/api/v1/ping", timeout=60).json() == {"pong": True}
        assert sum(_closed_by_server(sock) for sock in stalled) >= 1
    finally:
        for sock in stalled:
            sock.close()
        runner.kill()


def _reconnecting_slowloris(port: int, socks: list[socket.socket], stop: Event) -> None:
    """Keep ``len(socks)`` slow connections open: a closed one is opened again at once, each sends a
    header byte every two seconds (the red team's 2,000 reconnecting slow-head clients, scaled down)."""
    while not stop.ready():
        for i, sock in enumerate(socks):
            try:
                sock.send(b"X")
            except OSError:
                sock.close()
                with contextlib.suppress(OSError):
                    socks[i] = socket.create_connection(("127.0.0.1", port), timeout=60)
                    socks[i].sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: a\r\n")
        eventlet.sleep(2)


def _probe(base: str, path: str) -> int:
    with httpx.Client(base_url=base, timeout=60) as client:  # a brand-new connection each time
        return client.get(path).status_code


def test_fresh_clients_are_answered_while_reconnecting_slow_connections_fill_the_listener(tmp_path):
    """A connection that just connected is not slow yet: the listener sheds the stalled ones for it."""
    runner, base, port = start(tmp_path, http_max_connections=100)
    stop = Event()
    socks = _open_slow(port, 300)
    trickler = eventlet.spawn(_reconnecting_slowloris, port, socks, stop)
    try:
        eventlet.sleep(2.5)  # every slow connection has been waited on past the grace
        answers = [_probe(base, path) for _ in range(25) for path in ("/readyz", "/api/v1/ping")]
        assert answers == [200] * 50
    finally:
        stop.send()
        trickler.wait()
        for sock in socks:
            sock.close()
        runner.kill()


def test_clients_that_pipeline_and_never_read_are_shed_and_bounded(tmp_path):
    runner, base, port = start(tmp_path, http_max_connections=10, http_head_timeout_seconds=5)
    request = b"GET /api/v1/big HTTP/1.1\r\nHost: a\r\n\r\n"
    hogs = []
    try:
        for _ in range(10):
            hog = socket.create_connection(("127.0.0.1", port), timeout=60)
            hog.sendall(request * 400)  # and never reads: the server blocks sending the answers
            hogs.append(hog)
        eventlet.sleep(1.5)  # past the grace: every hog is stalled in a send
        answers = [_probe(base, path) for _ in range(25) for path in ("/readyz", "/api/v1/ping")]
        assert answers == [200] * 50
        # the hogs were shed, or closed by the send deadline or the pipelining cap: none is served forever
        for hog in hogs:
            hog.settimeout(60)
            received = 0
            with contextlib.suppress(ConnectionResetError):
                while chunk := hog.recv(1 << 20):
                    received += len(chunk)
            assert received <= (MAX_PIPELINED + 1) * 512 * 1024  # never the 400 answers asked for
    finally:
        for hog in hogs:
            hog.close()
        runner.kill()
