"""The bus catalogue, from the code: each event type's contract and only publisher, and the queues consuming it.

Publishers come from the contracts (services.shared.contracts), consumers from the services' ``@event_handler``
entrypoints (``services.shared.nameko_ext.events.subscriptions_of``); ``schemas/asyncapi.yaml`` is written
from this (``scripts/generate-contracts.py``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import services.shared.contracts  # noqa: F401  (declares every event type)
from services.shared.bus.topology import Subscription
from services.shared.contracts.events import ANY_PLATFORM_SERVICE, EventData, contracts, publishers_of


@dataclass(frozen=True)
class Channel:
    contract: type[EventData]
    consumers: tuple[tuple[str, str], ...]  # (service, handler)

    @property
    def event_type(self) -> str:
        return self.contract.TYPE

    @property
    def publisher(self) -> str:
        return self.contract.PUBLISHER  # ANY_PLATFORM_SERVICE for a command event

    @property
    def publishers(self) -> tuple[str, ...]:
        return publishers_of(self.contract)


def channels(subscriptions: Iterable[Subscription], *, publishers: set[str] | None = None) -> tuple[Channel, ...]:
    """One channel per declared event type (of these publishers, by default every one), with its consumers."""
    subscriptions = list(subscriptions)
    return tuple(
        Channel(contract, tuple((s.service, s.handler) for s in subscriptions if contract.TYPE in s.event_types))
        for contract in contracts()
        if publishers is None or contract.PUBLISHER in publishers or contract.PUBLISHER == ANY_PLATFORM_SERVICE
    )
