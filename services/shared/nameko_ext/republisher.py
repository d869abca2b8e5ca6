"""Publishes a copy of a delivered message (retry or dead letter) with a confirm, before the original is acked."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import amqp
import eventlet
from eventlet.greenthread import GreenThread
from eventlet.semaphore import Semaphore

from services.shared.bus.amqp import DEFAULT_HEARTBEAT, connect, keep_alive

log = logging.getLogger(__name__)


class Republisher:
    """One connection, opened on first use and kept: failures come in bursts. While it is open a green
    thread looks after its heartbeats (the broker closes a silent connection after its heartbeat
    interval, and the next retry would find it reset)."""

    def __init__(self, amqp_uri: str, *, name: str, heartbeat: int = DEFAULT_HEARTBEAT) -> None:
        self.amqp_uri = amqp_uri
        self.name = name
        self.heartbeat = heartbeat
        self._connection: amqp.Connection | None = None
        self._channel: amqp.Channel | None = None
        self._lock = Semaphore()
        self._keeper: GreenThread | None = None

    @contextmanager
    def channel(self) -> Iterator[amqp.Channel]:
        with self._lock:
            if self._connection is None or not self._connection.connected:
                self._connection = connect(self.amqp_uri, heartbeat=self.heartbeat, name=self.name)
                self._connection.confirm_publish = True
                self._channel = self._connection.channel()
                self._keeper = eventlet.spawn(self._keep_alive, self._connection)
            assert self._channel is not None
            try:
                yield self._channel
            except (OSError, amqp.exceptions.AMQPError):
                self._drop()
                raise

    def publish(self, message: Any, *, exchange: str, routing_key: str, headers: dict[str, Any]) -> None:
        properties = dict(message.properties)
        copy = amqp.Message(
            message.body,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=2,
            message_id=properties.get("message_id"),
            type=properties.get("type"),
            application_headers={**(message.headers or {}), **headers},
        )
        with self.channel() as channel:
            channel.basic_publish_confirm(copy, exchange=exchange, routing_key=routing_key, confirm_timeout=30)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _keep_alive(self, connection: amqp.Connection) -> None:
        tick = min(max(connection.heartbeat / 4, 0.25), 1.0) if connection.heartbeat else None
        while tick is not None and self._connection is connection:
            eventlet.sleep(tick)
            with self._lock:
                if self._connection is not connection:
                    return
                try:
                    keep_alive(connection)
                except Exception as exc:  # gone: the next publish opens another
                    log.info("%s: idle broker connection gone (%s)", self.name, exc.__class__.__name__)
                    self._keeper = None  # this very thread: not to be killed by _drop
                    self._drop()
                    return

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        keeper, self._keeper = self._keeper, None
        if keeper is not None and keeper is not eventlet.getcurrent():
            keeper.kill()
        if connection is not None:
            connection.collect()
