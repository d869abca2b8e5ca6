"""Plain AMQP 0-9-1 connections (py-amqp) for the relay, topology and dead-letter tools."""
from __future__ import annotations

import errno
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlparse

import amqp
from amqp.transport import SSLTransport, TCPTransport

READ_AHEAD = 16384
WRITE_BATCH = 65536


class ReadAheadTransport(TCPTransport):
    """py-amqp's TCP transport, reading what the socket has rather than exactly one frame part,
    and able to hold writes back (``corked``) so a batch of publishes costs a few system calls.

    py-amqp asks the socket for exactly the bytes it needs next (a frame header, its payload,
    the end octet): about six system calls per delivered message. Reading up to ``READ_AHEAD``
    bytes at once, a call brings in tens of messages. The surplus waits in py-amqp's own read
    buffer, which it already keeps (and restores on a timeout), so frames are parsed as before.
    """

    def _read(self, n: int, initial: bool = False, _errnos: tuple[int, ...] = (errno.EAGAIN, errno.EINTR)) -> bytes:
        recv = self._quick_recv
        rbuf: bytes = self._read_buffer  # type: ignore[has-type]
        try:
            while len(rbuf) < n:
                try:
                    s = recv(max(n - len(rbuf), READ_AHEAD))
                except OSError as exc:
                    if exc.errno in _errnos:
                        if initial and self.raise_on_initial_eintr:
                            raise TimeoutError() from None
                        continue
                    raise
                if not s:
                    raise OSError("Server unexpectedly closed connection")
                rbuf += s
        except BaseException:
            self._read_buffer = rbuf
            raise
        result, self._read_buffer = rbuf[:n], rbuf[n:]
        return bytes(result)


    _corked: list[bytes] | None = None
    _corked_size = 0

    def write(self, s: Any) -> None:
        corked = self._corked
        if corked is None:
            super().write(s)
            return
        corked.append(bytes(s))  # py-amqp reuses the buffer behind ``s``: copy it
        self._corked_size += len(s)
        if self._corked_size >= WRITE_BATCH:
            self._flush_corked()

    def cork(self) -> None:
        """Hold writes back until ``uncork``: a batch of publishes leaves in a few system calls."""
        if self._corked is None:
            self._corked, self._corked_size = [], 0

    def uncork(self, *, send: bool = True) -> None:
        if self._corked is not None:
            if send:
                self._flush_corked()
            self._corked = None

    def _flush_corked(self) -> None:
        assert self._corked is not None
        data, self._corked[:], self._corked_size = b"".join(self._corked), [], 0
        if data:
            super().write(data)


@contextmanager
def corked(connection: amqp.Connection) -> Iterator[None]:
    """Send what is written on ``connection`` inside the block in as few system calls as possible.

    Whole frames are buffered, so if the block fails what was held back is dropped on a frame
    boundary (the caller then closes the connection, as after any publishing failure).
    """
    transport = connection.transport
    if not isinstance(transport, ReadAheadTransport):
        yield
        return
    transport.cork()
    try:
        yield
    except BaseException:
        transport.uncork(send=False)
        raise
    transport.uncork()


def transport(host: str, connect_timeout: Any = None, ssl: Any = False, **kwargs: Any) -> Any:
    """amqp.transport.Transport, with reads ahead on plain TCP (TLS keeps py-amqp's own)."""
    cls = SSLTransport if ssl else ReadAheadTransport
    return cls(host, connect_timeout=connect_timeout, ssl=ssl, **kwargs)


class Connection(amqp.Connection):
    """A py-amqp connection whose TCP transport reads ahead."""

    def Transport(self, host: str, connect_timeout: Any, ssl: Any = False, read_timeout: Any = None,  # noqa: N802
                  write_timeout: Any = None, socket_settings: Any = None, **kwargs: Any) -> Any:
        return transport(host, connect_timeout=connect_timeout, ssl=ssl, read_timeout=read_timeout,
                         write_timeout=write_timeout, socket_settings=socket_settings, **kwargs)


DEFAULT_HEARTBEAT = 30


def connect(uri: str, *, heartbeat: int = DEFAULT_HEARTBEAT, name: str = "maillage") -> amqp.Connection:
    """Open a connection from an ``amqp://user:pass@host:port/vhost`` URI.

    The broker closes a connection that stays silent for its negotiated heartbeat interval (about
    twice, at most): one kept open between uses must be looked after with ``keep_alive``.
    """
    parts = urlparse(uri)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"AMQP_URI must start with amqp:// or amqps://, not {parts.scheme or 'nothing'}")
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    connection = Connection(
        host=f"{parts.hostname or '127.0.0.1'}:{parts.port or (5671 if parts.scheme == 'amqps' else 5672)}",
        userid=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        virtual_host=vhost,
        heartbeat=heartbeat,
        ssl=parts.scheme == "amqps",
        client_properties={"connection_name": name},
        connect_timeout=10,
    )
    connection.connect()
    return connection


def keep_alive(connection: amqp.Connection, *, every: float | None = None) -> bool:
    """Look after the heartbeats of a connection kept open while idle; call it often (each idle tick).

    Reads what the broker sent meanwhile (its heartbeats, and any method frame, dispatched as usual),
    then sends a heartbeat if nothing was sent for half the interval. py-amqp only does this when
    asked, and a connection nobody reads or writes is closed by the broker after its heartbeat
    interval ("missed heartbeats from client"); the next publish then finds a reset socket.

    Cheap when called more often than needed: it does nothing until ``every`` seconds (a quarter of
    the interval, at most one second) passed since its last run. Returns whether it ran. Raises
    (``OSError``, ``amqp.exceptions.AMQPError``) when the connection is gone or the broker was silent
    for two intervals: the caller drops the connection and opens another when it needs one.
    """
    interval = connection.heartbeat
    if not interval:
        return False
    now = time.monotonic()
    if now < getattr(connection, "_maillage_keep_alive_at", 0.0):
        return False
    connection._maillage_keep_alive_at = now + (every if every is not None else min(interval / 4, 1.0))
    transport = connection.transport
    while transport._read_buffer or _readable(transport.sock):
        connection.blocking_read(timeout=interval)  # one frame; a heartbeat is counted and dropped
    connection.heartbeat_tick(rate=2)  # sends one if nothing left for interval / 2; raises past 2 intervals
    return True


def _readable(sock: Any) -> bool:
    if sock is None:
        raise OSError("the broker connection is closed")
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def redact_uri(uri: str) -> str:
    parts = urlparse(uri)
    if parts.password:
        return uri.replace(f":{parts.password}@", ":***@", 1)
    return uri
