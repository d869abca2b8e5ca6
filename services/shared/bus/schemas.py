"""Event schemas: every event type has a JSON Schema under schemas/events/, checked before publishing."""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from services.shared.bus.envelope import SCHEMA_BASE, CloudEvent
from services.shared.errors import Invalid

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas" / "events"
_extra_dirs: list[Path] = []


def add_schema_dir(path: Path) -> None:
    """Make more event schemas known (tests register their own probe events this way)."""
    if path not in _extra_dirs:
        _extra_dirs.append(path)
        _registry.cache_clear()
        _validator.cache_clear()
        _fast_check.cache_clear()


def schema_files() -> list[Path]:
    return [p for folder in (SCHEMA_DIR, *_extra_dirs) for p in sorted(folder.glob("*.json"))]


def known_event_types() -> list[str]:
    return [p.stem for p in schema_files() if not p.stem.startswith("_")]


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = []
    for path in schema_files():
        schema = json.loads(path.read_text())
        resources.append((schema.get("$id", SCHEMA_BASE + path.name), Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _inline_refs(node: Any, registry: Registry) -> Any:
    """Replace ``$ref`` to sibling schema files by their content (our schemas only refer to files)."""
    if isinstance(node, dict):
        if "$ref" in node and len(node) == 1:
            return _inline_refs(registry.contents(SCHEMA_BASE + node["$ref"].rsplit("/", 1)[-1]), registry)
        return {k: _inline_refs(v, registry) for k, v in node.items() if k not in ("$schema", "$id")}
    if isinstance(node, list):
        return [_inline_refs(item, registry) for item in node]
    return node


@lru_cache(maxsize=256)
def _fast_check(event_type: str) -> Callable[[Any], Any]:
    """A compiled validator for the hot path; the jsonschema one explains failures."""
    uri = SCHEMA_BASE + f"{event_type}.json"
    try:
        schema = _registry().contents(uri)
    except LookupError:
        raise Invalid(f"No schema for event type {event_type!r}: add schemas/events/{event_type}.json.") from None
    return fastjsonschema.compile(_inline_refs(schema, _registry()))


@lru_cache(maxsize=256)
def _validator(event_type: str) -> Draft202012Validator:
    uri = SCHEMA_BASE + f"{event_type}.json"
    try:
        schema: dict[str, Any] = _registry().contents(uri)
    except LookupError:
        raise Invalid(f"No schema for event type {event_type!r}: add schemas/events/{event_type}.json.") from None
    return Draft202012Validator(schema, registry=_registry())


def validate_event(event: CloudEvent) -> None:
    """Raise ``Invalid`` naming the first offending field when the event breaks its schema.

    The message names the path and the rule, never the value: values may be health data.
    """
    validate_event_body(event.type, event.to_dict())


def validate_event_body(event_type: str, body: dict[str, Any]) -> None:
    try:
        _fast_check(event_type)(body)
        return
    except fastjsonschema.JsonSchemaException:
        pass  # explain it below with the reference validator
    error = next(iter(_validator(event_type).iter_errors(body)), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise Invalid(
            f"Event {event_type} breaks its schema at {where} (rule '{error.validator}').",
            expression=where,
        )
    # The compiled check failed but the reference validator found nothing: still refuse.
    raise Invalid(f"Event {event_type} breaks its schema.")
