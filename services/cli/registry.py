"""The services `maillage up` can run, by name, imported only when asked for (the list: services.shared.registry)."""
from __future__ import annotations

import importlib
from typing import Any

from services.shared.registry import built_services

SERVICE_CLASSES: dict[str, str] = built_services()


def available() -> list[str]:
    return list(SERVICE_CLASSES)


def resolve(names: list[str] | None) -> list[str]:
    """Validate a selection (``--only``); every service when none is given."""
    if not names:
        return available()
    unknown = [name for name in names if name not in SERVICE_CLASSES]
    if unknown:
        raise ValueError(f"Unknown service {unknown[0]!r}: choose among {', '.join(available())}.")
    return names


def load(name: str) -> Any:
    module, _, cls = SERVICE_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), cls)
