"""Reliable event consumption for nameko: ack after commit, bounded retries with backoff, then a dead letter.

Replaces nameko's ``event_handler``, which acks a message whose handler raised (the event is lost)
or requeues it forever, and whose queues only exist once the consumer has started.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any

import amqp
from eventlet.semaphore import Semaphore
from kombu import Queue
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer

from services.shared.bus.amqp import connect
from services.shared.bus.envelope import CloudEvent, MalformedEnvelope
from services.shared.bus.failures import (
    ATTEMPT_HEADER, DeadLetter, attempt_of, decide, failure_headers,
)
from services.shared.bus.topology import DEAD_LETTER_EXCHANGE, Subscription, declare_subscription
from services.shared.errors import Invalid
from services.shared.nameko_ext.config import Undecodable, settings_of

log = logging.getLogger(__name__)


class ReliableQueueConsumer(QueueConsumer):
    """nameko's queue consumer with our prefetch and a dead letter for bodies that cannot be decoded."""

    @property
    def prefetch_count(self) -> int:
        return settings_of(self.container).bus_prefetch

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(provider.reject_undecodable)
        return consumers


class ReliableEventHandler(Consumer):
    queue_consumer = ReliableQueueConsumer()

    def __init__(self, *event_types: str, handler: str | None = None, **kwargs: Any) -> None:
        if not event_types:
            raise ValueError("name at least one event type to handle")
        self.event_types = tuple(event_types)
        self.handler_name = handler
        self._publisher: amqp.Connection | None = None
        self._publish_lock = Semaphore()
        super().__init__(queue=None, **kwargs)

    @property
    def subscription(self) -> Subscription:
        return Subscription(self.container.service_name, self.handler_name or self.method_name, self.event_types)

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.max_attempts = settings.bus_max_attempts
        self.retry_queues = [self.subscription.retry_queue(delay) for delay in settings.bus_retry_delays_ms]
        connection = connect(self.container.config["AMQP_URI"], name=f"{self.subscription.queue}-setup")
        try:
            declare_subscription(
                connection.channel(), self.subscription,
                delivery_limit=settings.bus_delivery_limit, retry_delays_ms=settings.bus_retry_delays_ms,
            )
        finally:
            connection.close()
        self.queue = Queue(self.subscription.queue, no_declare=True)
        super().setup()

    def stop(self) -> None:
        super().stop()
        with self._publish_lock:
            if self._publisher is not None:
                self._publisher.collect()
                self._publisher = None

    def handle_message(self, body: Any, message: Any) -> None:
        try:
            if isinstance(body, Undecodable):
                raise MalformedEnvelope(body["reason"])
            event = CloudEvent.from_dict(body)
        except MalformedEnvelope as exc:
            self._give_up(message, Invalid(f"malformed event envelope: {exc}"), attempt_of(message.headers))
            return
        context_data = {"event_id": event.id, "traceparent": event.traceparent, "event_type": event.type}
        try:
            self.container.spawn_worker(
                self, (event,), {}, context_data=context_data, handle_result=partial(self.handle_result, message)
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        if exc_info is not None:
            error = exc_info[1]
            attempt = attempt_of(message.headers)
            decision = decide(
                attempt, max_attempts=self.max_attempts, retry_queues=self.retry_queues,
                permanent=isinstance(error, Invalid),
            )
            try:
                if isinstance(decision, DeadLetter):
                    self._give_up(message, error, attempt)
                    return
                self._republish(message, exchange="", routing_key=decision.queue, headers={ATTEMPT_HEADER: decision.attempt})
                log.warning("handler failed, retrying", extra={"queue": self.subscription.queue, "attempt": attempt})
            except Exception:
                # Could not park the message: leave it unacked so the broker redelivers it.
                log.exception("could not schedule a retry; the broker will redeliver")
                self.queue_consumer.requeue_message(message)
                return
        self.queue_consumer.ack_message(message)

    def reject_undecodable(self, message: Any, exc: Exception) -> None:
        self._give_up(message, Invalid(f"undecodable message ({exc.__class__.__name__})"), attempt_of(message.headers))

    def _give_up(self, message: Any, error: BaseException, attempts: int) -> None:
        from services.shared.bus.redaction import safe_error_text

        headers = failure_headers(self.subscription.queue, error, attempts, describe=safe_error_text)
        self._republish(message, exchange=DEAD_LETTER_EXCHANGE, routing_key=self.subscription.queue, headers=headers)
        log.error("event dead-lettered", extra={"queue": self.subscription.queue, "error_type": headers["x-maillage-error-type"]})
        self.queue_consumer.ack_message(message)

    def _republish(self, message: Any, *, exchange: str, routing_key: str, headers: dict[str, Any]) -> None:
        """Publish a copy (same body and id) with a broker confirm, before the original is acked."""
        properties = dict(message.properties)
        merged = {**(message.headers or {}), **headers}
        copy = amqp.Message(
            message.body,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=2,
            message_id=properties.get("message_id"),
            type=properties.get("type"),
            application_headers=merged,
        )
        with self._publish_lock:
            if self._publisher is None or not self._publisher.connected:
                self._publisher = connect(self.container.config["AMQP_URI"], name=f"{self.subscription.queue}-failures")
                self._publisher.confirm_publish = True
                self._channel = self._publisher.channel()
            self._channel.basic_publish_confirm(copy, exchange=exchange, routing_key=routing_key, confirm_timeout=30)


event_handler = ReliableEventHandler.decorator
