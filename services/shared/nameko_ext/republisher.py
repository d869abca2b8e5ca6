"""Publishes a copy of a delivered message (retry or dead letter) with a confirm, before the original is acked."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import amqp
from eventlet.semaphore import Semaphore

from services.shared.bus.amqp import connect


class Republisher:
    def __init__(self, amqp_uri: str, *, name: str) -> None:
        self.amqp_uri = amqp_uri
        self.name = name
        self._connection: amqp.Connection | None = None
        self._channel: amqp.Channel | None = None
        self._lock = Semaphore()

    @contextmanager
    def channel(self) -> Iterator[amqp.Channel]:
        with self._lock:
            if self._connection is None or not self._connection.connected:
                self._connection = connect(self.amqp_uri, name=self.name)
                self._connection.confirm_publish = True
                self._channel = self._connection.channel()
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

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            connection.collect()
