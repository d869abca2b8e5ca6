"""The bus catalogue read from schemas/asyncapi.yaml: which service publishes each event and who consumes it."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from services.shared.bus.topology import Subscription

ASYNCAPI = Path(__file__).resolve().parents[3] / "schemas" / "asyncapi.yaml"


@dataclass(frozen=True)
class Channel:
    event_type: str
    publisher: str
    consumers: tuple[tuple[str, str], ...]  # (service, handler)


@lru_cache(maxsize=4)
def channels(path: Path = ASYNCAPI) -> tuple[Channel, ...]:
    document = yaml.safe_load(path.read_text())
    result = []
    for name, channel in (document.get("channels") or {}).items():
        consumers = tuple((c["service"], c["handler"]) for c in channel.get("x-maillage-consumers") or [])
        result.append(Channel(name, channel["x-maillage-publisher"], consumers))
    return tuple(result)


def subscriptions(path: Path = ASYNCAPI, *, services: set[str] | None = None) -> list[Subscription]:
    """Every consuming queue the catalogue declares, optionally only those of some services."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for channel in channels(path):
        for service, handler in channel.consumers:
            if services is None or service in services:
                grouped[(service, handler)].append(channel.event_type)
    return [Subscription(service, handler, tuple(types)) for (service, handler), types in sorted(grouped.items())]
