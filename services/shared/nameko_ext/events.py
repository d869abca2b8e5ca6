"""Reliable event consumption for nameko: ack after commit, bounded retries with backoff, then a dead letter.

Replaces nameko's ``event_handler``, which acks a message whose handler raised (the event is lost)
or requeues it forever, and whose queues only exist once the consumer has started. Deliveries that
arrive together are handled by one worker as an ``EventBatch`` (see services.shared.db.batch).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import eventlet
from kombu.entity import Queue
from kombu.transport import pyamqp
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import register_entrypoint
from nameko.messaging import Consumer, QueueConsumer

from services.shared.bus.acks import AckWindow
from services.shared.bus.amqp import Connection as ReadAheadConnection
from services.shared.bus.envelope import CloudEvent, MalformedEnvelope
from services.shared.bus.failures import (
    ATTEMPT_HEADER,
    DeadLetter,
    attempt_of,
    decide,
    failure_headers,
)
from services.shared.bus.redaction import safe_error_text
from services.shared.bus.topology import DEAD_LETTER_EXCHANGE, Subscription, declare_subscription
from services.shared.contracts.events import Envelope, EventData
from services.shared.db.batch import EventBatch
from services.shared.errors import Invalid
from services.shared.nameko_ext.config import Undecodable, settings_of
from services.shared.nameko_ext.republisher import Republisher

log = logging.getLogger(__name__)


class _ReadAheadKombuConnection(pyamqp.Connection):
    Transport = ReadAheadConnection.Transport


class ReadAheadKombuTransport(pyamqp.Transport):
    """kombu's py-amqp transport whose connections read ahead (services.shared.bus.amqp)."""

    Connection = _ReadAheadKombuConnection


class ReliableQueueConsumer(QueueConsumer):
    """nameko's queue consumer with our prefetch, a dead letter for bodies that cannot be decoded,
    no green thread per delivery, and a batch acked with one ``multiple`` ack (see bus/acks.py)."""

    def __init__(self) -> None:
        super().__init__()
        self._window_channel: Any = None
        self._window = AckWindow()

    @property
    def prefetch_count(self) -> int:
        return settings_of(self.container).bus_prefetch

    @property
    def connection(self) -> Any:
        """nameko's connection parameters, over a transport that reads deliveries ahead."""
        connection = super().connection
        connection.transport_cls = ReadAheadKombuTransport
        return connection

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = functools.partial(self._undecodable, provider)
        return consumers

    def handle_message(self, provider: Any, body: Any, message: Any) -> None:
        # Our providers only queue the delivery for the next batch: no green thread per message.
        self._track(message)
        provider.handle_message(body, message)

    def _undecodable(self, provider: Any, message: Any, exc: Exception) -> None:
        self._track(message)
        provider.reject_undecodable(message, exc)

    def _track(self, message: Any) -> None:
        if message.channel is not self._window_channel:  # a new channel (reconnection): tags restart
            self._window_channel, self._window = message.channel, AckWindow()
        self._window.received(message.delivery_tag)

    def ack_message(self, message: Any) -> None:
        self.ack_messages([message])

    def ack_messages(self, messages: list[Any]) -> None:
        """Acknowledge deliveries whose work is committed, in as few frames as the window allows."""
        channel = self._window_channel
        current = [m for m in messages if m.channel is channel]
        for message in messages:
            if message.channel is not channel:
                super().ack_message(message)  # from a channel since replaced: nameko's own path
        if not current or not channel.connection:
            return  # the connection is gone: the broker redelivers, the claims skip the duplicates
        acks = self._window.committed(message.delivery_tag for message in current)
        try:
            if acks.up_to is not None:
                channel.basic_ack(acks.up_to, multiple=True)
            for tag in acks.singles:
                channel.basic_ack(tag)
        except ConnectionError:  # pragma: no cover - closing under our feet, as in nameko
            return
        for message in current:
            message._state = "ACK"

    def requeue_message(self, message: Any) -> None:
        super().requeue_message(message)
        if message.channel is self._window_channel:
            self._window.settled(message.delivery_tag)


class ReliableEventHandler(Consumer):
    queue_consumer = ReliableQueueConsumer()

    def __init__(self, *contracts: type[EventData], handler: str, batch_max: int = 200, **kwargs: Any) -> None:
        if not contracts:
            raise ValueError("name at least one event contract to handle")
        self.contracts = {contract.TYPE: contract for contract in contracts}
        self.event_types = tuple(self.contracts)
        self.handler_name = handler
        self.batch_max = batch_max
        self._pending: list[tuple[CloudEvent, Any]] = []
        self._flush_scheduled = False
        super().__init__(queue=None, **kwargs)

    @property
    def subscription(self) -> Subscription:
        return Subscription(self.container.service_name, self.handler_name, self.event_types)

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.max_attempts = settings.bus_max_attempts
        self.retry_queues = [self.subscription.retry_queue(delay) for delay in settings.bus_retry_delays_ms]
        self.republisher = Republisher(self.container.config["AMQP_URI"], name=f"{self.subscription.queue}-failures",
                                       heartbeat=settings.bus_heartbeat_seconds)
        with self.republisher.channel() as channel:
            declare_subscription(
                channel,
                self.subscription,
                delivery_limit=settings.bus_delivery_limit,
                retry_delays_ms=settings.bus_retry_delays_ms,
            )
        self.queue = Queue(self.subscription.queue, no_declare=True)
        super().setup()

    def stop(self) -> None:
        super().stop()
        self.republisher.close()

    def handle_message(self, body: Any, message: Any) -> None:
        try:
            if isinstance(body, Undecodable):
                raise MalformedEnvelope(body["reason"])
            event = CloudEvent.from_dict(body)
        except MalformedEnvelope as exc:
            self._dead_letter_later(message, Invalid(f"malformed event envelope: {exc}"))
            return
        self._pending.append((event, message))
        if len(self._pending) >= self.batch_max:
            self._flush()
        elif not self._flush_scheduled:
            # Deliveries that arrived together are already scheduled: flush after them.
            self._flush_scheduled = True
            eventlet.spawn_after(0, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        deliveries, self._pending = self._pending, []
        if not deliveries:
            return
        batch = EventBatch([event for event, _ in deliveries], handler=self.subscription.queue)
        messages = [message for _, message in deliveries]
        first = batch.events[0]
        context = {"event_id": first.id, "traceparent": first.traceparent, "batch_size": len(batch)}
        try:
            self.container.spawn_worker(
                self,
                (batch,),
                {},
                context_data=context,
                handle_result=functools.partial(self.handle_batch_result, messages),
            )
        except ContainerBeingKilled:
            for message in messages:
                self.queue_consumer.requeue_message(message)

    def handle_batch_result(self, messages: list[Any], worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        batch: EventBatch = worker_ctx.args[0]
        done = []
        for index, message in enumerate(messages):
            error = exc_info[1] if exc_info is not None else batch.failures.get(index)
            if error is None:
                done.append(message)
            else:
                self._after_failure(message, error)
        if done:
            self.queue_consumer.ack_messages(done)
        return result, exc_info

    def _after_failure(self, message: Any, error: BaseException) -> None:
        attempt = attempt_of(message.headers)
        decision = decide(
            attempt,
            max_attempts=self.max_attempts,
            retry_queues=self.retry_queues,
            permanent=isinstance(error, Invalid),
        )
        try:
            if isinstance(decision, DeadLetter):
                self._give_up(message, error, attempt)
                return
            self.republisher.publish(
                message, exchange="", routing_key=decision.queue, headers={ATTEMPT_HEADER: decision.attempt}
            )
        except Exception:
            # Could not park the message: leave it to the broker, which redelivers it.
            log.exception("could not schedule a retry; the broker will redeliver")
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)

    def reject_undecodable(self, message: Any, exc: Exception) -> None:
        self._dead_letter_later(message, Invalid(f"undecodable message ({exc.__class__.__name__})"))

    def _dead_letter_later(self, message: Any, error: BaseException) -> None:
        # Off the consuming thread: dead-lettering waits for the broker's confirm.
        give_up = functools.partial(self._give_up, message, error, attempt_of(message.headers))
        self.container.spawn_managed_thread(give_up, identifier=f"{self.subscription.queue}.dead_letter")

    def _give_up(self, message: Any, error: BaseException, attempts: int) -> None:
        headers = failure_headers(self.subscription.queue, error, attempts, describe=safe_error_text)
        self.republisher.publish(
            message, exchange=DEAD_LETTER_EXCHANGE, routing_key=self.subscription.queue, headers=headers
        )
        log.error(
            "event dead-lettered",
            extra={"queue": self.subscription.queue, "error_type": headers["x-maillage-error-type"]},
        )
        self.queue_consumer.ack_message(message)


def event_handler(*contracts: type[EventData], **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Decorate ``def send_welcome_kit(self, event: Envelope[ProfessionalEnrolled])``.

    The method's name names its queue, ``<service>.<method name>``, and the processed-event marks of
    ``db.handle_once`` in it. Each event arrives typed: its data validated against its contract, or the
    event goes to the dead letters (``Invalid``: permanent).
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        entrypoint = ReliableEventHandler(*contracts, handler=method.__name__, **options)

        @functools.wraps(method)
        def run_batch(service: Any, batch: EventBatch) -> None:
            batch.run(lambda event: method(service, typed(event, entrypoint.contracts)))

        register_entrypoint(run_batch, entrypoint)
        return run_batch

    return decorate


def typed(event: CloudEvent, contracts: Mapping[str, type[EventData]]) -> Envelope[Any]:
    contract = contracts.get(event.type)
    if contract is None:
        raise Invalid(f"This handler takes no {event.type!r} event.")
    return event.typed(contract)


def subscriptions_of(service_classes: Iterable[Any]) -> list[Subscription]:
    """The consuming queues the reliable event handlers of these service classes declare."""
    found = []
    for cls in service_classes:
        for attribute in vars(cls).values():
            for entrypoint in getattr(attribute, "nameko_entrypoints", ()):
                if isinstance(entrypoint, ReliableEventHandler):
                    found.append(Subscription(cls.name, entrypoint.handler_name, entrypoint.event_types))
    return sorted(found, key=lambda s: s.queue)
