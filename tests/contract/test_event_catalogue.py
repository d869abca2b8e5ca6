"""The bus catalogue holds together: schemas, AsyncAPI channels and the handlers in the code agree."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from services.cli import registry
from services.shared.bus.catalogue import ASYNCAPI, channels, subscriptions
from services.shared.bus.schemas import SCHEMA_DIR, validate_event_body
from services.shared.nameko_ext.events import ReliableEventHandler

EVENT_SCHEMAS = sorted(p for p in SCHEMA_DIR.glob("*.json") if not p.stem.startswith("_"))


def test_asyncapi_document_is_well_formed() -> None:
    document = yaml.safe_load(ASYNCAPI.read_text())
    assert document["asyncapi"].startswith("2.")
    for name, channel in (document.get("channels") or {}).items():
        assert channel.get("x-maillage-publisher"), f"{name} names no publisher"
        ref = channel["subscribe"]["message"]["payload"]["$ref"]
        assert (ASYNCAPI.parent / ref).resolve() == (SCHEMA_DIR / f"{name}.json").resolve(), name


@pytest.mark.parametrize("path", EVENT_SCHEMAS, ids=lambda p: p.stem)
def test_each_event_schema_is_valid_and_has_a_channel(path: Path) -> None:
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(f"/events/{path.name}")
    assert path.stem in {c.event_type for c in channels()}, f"{path.stem} has no channel in asyncapi.yaml"


@pytest.mark.parametrize("path", EVENT_SCHEMAS, ids=lambda p: p.stem)
def test_schema_examples_validate(path: Path) -> None:
    schema = json.loads(path.read_text())
    examples = schema.get("examples") or []
    assert examples, f"{path.name} needs at least one example envelope"
    for example in examples:
        validate_event_body(path.stem, example)


def declared_handlers() -> set[tuple[str, str, tuple[str, ...]]]:
    found = set()
    for name in registry.available():
        cls = registry.load(name)
        for attribute in vars(cls).values():
            for entrypoint in getattr(attribute, "nameko_entrypoints", ()):
                if isinstance(entrypoint, ReliableEventHandler):
                    found.add((cls.name, entrypoint.handler_name, tuple(sorted(entrypoint.event_types))))
    return found


def test_every_handler_in_the_code_is_in_the_catalogue_and_back() -> None:
    catalogued = {(s.service, s.handler, tuple(sorted(s.event_types))) for s in subscriptions()}
    assert declared_handlers() == catalogued
