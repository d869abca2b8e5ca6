"""Broker topology, declared before anything is published so no event is dropped for lack of a queue.

One topic exchange carries every event (routing key = event type). It has an alternate exchange, so
an event nobody subscribes to yet is parked in ``maillage.unrouted`` instead of vanishing. Each
subscription owns a quorum queue with a delivery limit; its poison messages go to ``<queue>.dlq``
through the dead-letter exchange; bounded retries wait in ``<queue>.retry.<delay>ms`` delay queues.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import amqp

log = logging.getLogger(__name__)

EVENTS_EXCHANGE = "maillage.events"
UNROUTED_EXCHANGE = "maillage.unrouted"
UNROUTED_QUEUE = "maillage.unrouted"
DEAD_LETTER_EXCHANGE = "maillage.dlx"
# Events nobody consumes (yet) are kept for an operator to see, but not forever.
UNROUTED_ARGUMENTS = {
    "x-queue-type": "quorum",
    "x-message-ttl": 7 * 24 * 3600 * 1000,
    "x-max-length": 100_000,
    "x-overflow": "drop-head",
}


@dataclass(frozen=True)
class Subscription:
    """A consuming handler: its queue receives the listed event types."""

    service: str
    handler: str
    event_types: tuple[str, ...]

    @property
    def queue(self) -> str:
        return f"{self.service}.{self.handler}"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dlq"

    def retry_queue(self, delay_ms: int) -> str:
        # Named by delay: changing the configured delays adds queues instead of clashing with old ones.
        return f"{self.queue}.retry.{delay_ms}ms"


def declare_exchanges(channel: amqp.Channel) -> None:
    channel.exchange_declare(UNROUTED_EXCHANGE, "fanout", durable=True, auto_delete=False)
    _declare_unrouted_queue(channel)
    channel.queue_bind(UNROUTED_QUEUE, UNROUTED_EXCHANGE, "")
    channel.exchange_declare(
        EVENTS_EXCHANGE, "topic", durable=True, auto_delete=False,
        arguments={"alternate-exchange": UNROUTED_EXCHANGE},
    )
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, "direct", durable=True, auto_delete=False)


def _declare_unrouted_queue(channel: amqp.Channel) -> None:
    # On its own channel: a queue left by an older release with other arguments makes the broker
    # close the channel, and that must not stop the platform from starting.
    side = channel.connection.channel()
    try:
        side.queue_declare(UNROUTED_QUEUE, durable=True, auto_delete=False, arguments=UNROUTED_ARGUMENTS)
    except amqp.exceptions.PreconditionFailed:
        log.warning("queue %s exists with other arguments; kept as it is", UNROUTED_QUEUE)
        return
    side.close()


def queue_arguments(subscription: Subscription, delivery_limit: int) -> dict[str, object]:
    return {
        "x-queue-type": "quorum",
        # A message that crashes its consumer again and again is dead-lettered by the broker itself.
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": subscription.queue,
    }


def declare_subscription(
    channel: amqp.Channel, subscription: Subscription, *, delivery_limit: int, retry_delays_ms: tuple[int, ...]
) -> None:
    """Declare a subscription's queue, bindings, retry queues and dead-letter queue (idempotent)."""
    declare_exchanges(channel)
    channel.queue_declare(
        subscription.queue, durable=True, auto_delete=False,
        arguments=queue_arguments(subscription, delivery_limit),
    )
    for event_type in subscription.event_types:
        channel.queue_bind(subscription.queue, EVENTS_EXCHANGE, event_type)
    channel.queue_declare(
        subscription.dead_letter_queue, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"}
    )
    channel.queue_bind(subscription.dead_letter_queue, DEAD_LETTER_EXCHANGE, subscription.queue)
    for delay in retry_delays_ms:
        # Classic queues: a queue-wide TTL dead-letters each message back to the work queue on time.
        channel.queue_declare(
            subscription.retry_queue(delay), durable=True, auto_delete=False,
            arguments={
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": subscription.queue,
            },
        )
