"""keep_alive, the heartbeat care of an idle AMQP connection, on a real socket pair standing for the broker's
end: it reads what the broker sent (without ever blocking) before ticking, runs no more often than it needs,
and lets a dead connection's error through for the caller to drop it."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from services.shared.bus import amqp as bus_amqp
from services.shared.bus.amqp import keep_alive
from services.shared.settings import SettingsError, read_settings


class Transport:
    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock
        self._read_buffer = b""


class Connection:
    """What keep_alive uses of py-amqp's Connection; a "frame" is one byte here."""

    def __init__(self, heartbeat: int, sock: socket.socket | None) -> None:
        self.heartbeat = heartbeat
        self.transport = Transport(sock)
        self.calls: list[str] = []

    def blocking_read(self, timeout: float) -> None:
        assert self.transport.sock is not None
        self.transport.sock.settimeout(0)  # a read with nothing waiting would raise, not block
        self.calls.append(f"read {self.transport.sock.recv(1)!r}")

    def heartbeat_tick(self, rate: int) -> None:
        self.calls.append(f"tick/{rate}")


@pytest.fixture
def broker() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        yield ours, theirs


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(bus_amqp.time, "monotonic", lambda: now[0])
    return now


def test_what_the_broker_sent_is_read_then_the_heartbeat_is_ticked(broker, clock) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = broker
    theirs.sendall(b"hh")
    conn = Connection(30, ours)
    assert keep_alive(conn)  # type: ignore[arg-type]
    assert conn.calls == ["read b'h'", "read b'h'", "tick/2"]


def test_it_runs_at_most_every_quarter_interval_capped_at_a_second(broker, clock) -> None:  # type: ignore[no-untyped-def]
    ours, _theirs = broker
    short, long = Connection(2, ours), Connection(30, ours)
    assert keep_alive(short) and keep_alive(long)  # type: ignore[arg-type]
    clock[0] += 0.4
    assert not keep_alive(short) and not keep_alive(long)  # type: ignore[arg-type]
    clock[0] += 0.2  # 0.6 s: past a quarter of 2 s
    assert keep_alive(short) and not keep_alive(long)  # type: ignore[arg-type]
    clock[0] += 0.5  # 1.1 s: past the one-second cap
    assert keep_alive(long)  # type: ignore[arg-type]
    assert (short.calls, long.calls) == (["tick/2"] * 2, ["tick/2"] * 2)


def test_a_connection_without_heartbeat_is_left_alone(broker, clock) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = broker
    theirs.sendall(b"h")
    conn = Connection(0, ours)
    assert not keep_alive(conn)  # type: ignore[arg-type]
    assert conn.calls == []


def test_a_closed_connection_is_an_error_for_the_caller(broker, clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OSError):
        keep_alive(Connection(30, None))  # type: ignore[arg-type]


def test_the_heartbeat_setting_is_three_seconds_or_more() -> None:
    default, chosen = read_settings({}), read_settings({"MAILLAGE_BUS_HEARTBEAT_SECONDS": "3"})
    intervals = (default.bus_heartbeat_seconds, chosen.bus_heartbeat_seconds)
    assert intervals == (30, 3)
    with pytest.raises(SettingsError, match="MAILLAGE_BUS_HEARTBEAT_SECONDS"):
        read_settings({"MAILLAGE_BUS_HEARTBEAT_SECONDS": "2"})
