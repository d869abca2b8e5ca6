"""Plain AMQP 0-9-1 connections (py-amqp) for the relay, topology and dead-letter tools."""
from __future__ import annotations

from urllib.parse import unquote, urlparse

import amqp


def connect(uri: str, *, heartbeat: int = 30, name: str = "maillage") -> amqp.Connection:
    """Open a connection from an ``amqp://user:pass@host:port/vhost`` URI."""
    parts = urlparse(uri)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"AMQP_URI must start with amqp:// or amqps://, not {parts.scheme or 'nothing'}")
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    connection = amqp.Connection(
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


def redact_uri(uri: str) -> str:
    parts = urlparse(uri)
    if parts.password:
        return uri.replace(f":{parts.password}@", ":***@", 1)
    return uri
