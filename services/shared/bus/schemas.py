"""Event schemas, generated in memory from the contracts (services.shared.contracts), checked before publishing.

``schemas/events/*.json`` are the same schemas written to files for outside readers
(``scripts/generate-contracts.py``); nothing here reads them.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from services.shared.contracts.events import (
    ENVELOPE_SCHEMA,
    SCHEMA_BASE,
    EventData,
    contract_for,
    contracts,
    data_schema,
    event_schema,
)
from services.shared.errors import Invalid


def known_event_types() -> list[str]:
    return [contract.TYPE for contract in contracts(published=False)]


@lru_cache(maxsize=256)
def _validator(event_type: str) -> Draft202012Validator:
    schema = event_schema(contract_for(event_type))
    registry: Registry = Registry().with_resource(ENVELOPE_SCHEMA["$id"], Resource.from_contents(ENVELOPE_SCHEMA))
    return Draft202012Validator({**schema, "$id": f"{SCHEMA_BASE}{event_type}.json"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@lru_cache(maxsize=256)
def _envelope_check(event_type: str) -> Callable[[Any], Any]:
    """The compiled check of a whole envelope (the ``$ref`` to the envelope's schema inlined)."""
    schema = event_schema(contract_for(event_type))
    envelope = {key: value for key, value in ENVELOPE_SCHEMA.items() if key not in ("$schema", "$id")}
    inlined = {key: value for key, value in schema.items() if key not in ("$schema", "$id", "examples")}
    return fastjsonschema.compile({**inlined, "allOf": [envelope]})


@lru_cache(maxsize=256)
def _data_check(contract: type[EventData]) -> Callable[[Any], Any]:
    """The compiled check of an event's data, for the outbox's hot path."""
    return fastjsonschema.compile(data_schema(contract))


def check_data(contract: type[EventData], data: dict[str, Any]) -> None:
    """Check the data a producer built against its contract's JSON Schema (the formats pydantic does not check:
    e-mail, UUID, date-time); ``Invalid`` names where, never the value."""
    try:
        _data_check(contract)(data)
    except fastjsonschema.JsonSchemaException:
        _explain(contract.TYPE, {"data": data}, only_data=True)


def validate_event(event: Any) -> None:
    """Raise ``Invalid`` naming the first offending field when the event (a CloudEvent) breaks its schema."""
    validate_event_body(event.type, event.to_dict())


def validate_event_body(event_type: str, body: dict[str, Any]) -> None:
    """The whole envelope against the schema of its type. The message names the path and the rule, never the
    value: values may be health data."""
    try:
        _envelope_check(event_type)(body)
        return
    except fastjsonschema.JsonSchemaException:
        _explain(event_type, body)
        raise Invalid(f"Event {event_type} breaks its schema.") from None


def _explain(event_type: str, body: dict[str, Any], *, only_data: bool = False) -> None:
    validator = _validator(event_type)
    errors = validator.iter_errors(body)
    if only_data:
        errors = (e for e in errors if e.absolute_path and e.absolute_path[0] == "data")
    error = next(iter(errors), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise Invalid(
            f"Event {event_type} breaks its schema at {where} (rule '{error.validator}').",
            expression=where,
        )
    if only_data:  # the compiled check failed but the reference validator found nothing: still refuse
        raise Invalid(f"Event {event_type} breaks its schema.")
