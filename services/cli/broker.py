"""Broker checks and topology declaration shared by `maillage up` and the dead-letter commands."""
from __future__ import annotations

import amqp

from services.cli import registry
from services.shared.bus.amqp import connect, redact_uri
from services.shared.bus.topology import Subscription, declare_exchanges, declare_subscription
from services.shared.cli_errors import UserError
from services.shared.nameko_ext.events import subscriptions_of
from services.shared.settings import Settings


def open_broker(settings: Settings, name: str) -> amqp.Connection:
    try:
        return connect(settings.amqp_uri, name=name)
    except (TimeoutError, OSError, amqp.exceptions.AMQPError) as exc:
        raise UserError(
            f"RabbitMQ is not reachable at {redact_uri(settings.amqp_uri)} ({exc.__class__.__name__}): "
            "start it (make services) or set AMQP_URI."
        ) from None


def catalogue_subscriptions() -> list[Subscription]:
    """Every consuming queue the services' ``@event_handler`` entrypoints declare."""
    return subscriptions_of(registry.load(name) for name in registry.available())


def declare_platform_topology(settings: Settings) -> int:
    """Declare every exchange and consuming queue of the catalogue before anything publishes."""
    connection = open_broker(settings, "maillage-topology")
    try:
        channel = connection.channel()
        declare_exchanges(channel)
        declared = catalogue_subscriptions()
        for subscription in declared:
            declare_subscription(channel, subscription, delivery_limit=settings.bus_delivery_limit,
                                 retry_delays_ms=settings.bus_retry_delays_ms)
        return len(declared)
    finally:
        connection.close()
