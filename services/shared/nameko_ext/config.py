"""How a nameko container finds the platform settings and AMQP configuration."""
from __future__ import annotations

from typing import Any

from services.shared.settings import Settings, read_settings

SETTINGS_KEY = "MAILLAGE_SETTINGS"


def container_config(settings: Settings) -> dict[str, Any]:
    """The nameko config dict for a container of this platform."""
    return {
        "AMQP_URI": settings.amqp_uri,
        SETTINGS_KEY: settings,
        "SERIALIZER": "json",
        "ACCEPT": ["json", "cloudevents"],
        "SERIALIZERS": {
            "cloudevents": {
                "encoder": "json.dumps",
                "decoder": "services.shared.nameko_ext.config.lenient_json",
                "content_type": "application/cloudevents+json",
                "content_encoding": "utf-8",
            }
        },
        "max_workers": 10,
        "HEARTBEAT": settings.bus_heartbeat_seconds,  # nameko's own consumers and RPC (kombu checks them)
    }


def settings_of(container: Any) -> Settings:
    settings = container.config.get(SETTINGS_KEY)
    return settings if isinstance(settings, Settings) else read_settings()


class Undecodable(dict):  # type: ignore[type-arg]
    """A body that is not JSON: handed on so the consumer can dead-letter it instead of crashing."""


def lenient_json(raw: str | bytes) -> Any:
    import json

    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return Undecodable(reason=f"not JSON ({exc.__class__.__name__})")
