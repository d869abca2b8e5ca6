"""The bus catalogue holds together: the committed schemas and AsyncAPI document are what the code generates,
the schemas are valid with examples, and each event round-trips through its contract."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from services.cli import registry
from services.cli.broker import catalogue_subscriptions
from services.shared.bus.catalogue import channels
from services.shared.bus.envelope import CloudEvent
from services.shared.bus.schemas import validate_event_body
from services.shared.contracts import contracts
from services.shared.contracts.events import EventData, event_schema
from services.shared.registry import service_names

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schemas" / "events"
ASYNCAPI = ROOT / "schemas" / "asyncapi.yaml"
CONTRACTS = sorted(contracts(), key=lambda c: c.TYPE)


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("generate_contracts", ROOT / "scripts" / "generate-contracts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_contract_files_are_what_the_code_generates() -> None:
    expected = _generator().expected()
    stale = [str(path.relative_to(ROOT)) for path, text in expected.items()
             if not path.exists() or path.read_text() != text]
    extra = [str(p.relative_to(ROOT)) for p in SCHEMA_DIR.glob("*.json") if p not in expected]
    assert not stale and not extra, f"run scripts/generate-contracts.py: stale {stale}, undeclared {extra}"


def test_asyncapi_document_is_well_formed() -> None:
    document = yaml.safe_load(ASYNCAPI.read_text())
    assert document["asyncapi"].startswith("2.")
    services = set(registry.available())
    for name, channel in document["channels"].items():
        publishers = channel.get("x-maillage-publishers") or [channel["x-maillage-publisher"]]  # a command: several
        assert set(publishers) <= set(service_names()), f"{name}: a publisher is not a platform service"
        assert "x-maillage-publishers" in channel or channel["x-maillage-publisher"] in services, name
        ref = channel["subscribe"]["message"]["payload"]["$ref"]
        assert (ASYNCAPI.parent / ref).resolve() == (SCHEMA_DIR / f"{name}.json").resolve(), name
        for consumer in channel["x-maillage-consumers"]:
            assert consumer["service"] in services


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.TYPE)
def test_each_event_schema_is_valid_and_has_an_example(contract: type[EventData]) -> None:
    schema = json.loads((SCHEMA_DIR / f"{contract.TYPE}.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(f"/events/{contract.TYPE}.json")
    assert schema["examples"], f"{contract.__name__} needs an EXAMPLE"
    for example in schema["examples"]:
        validate_event_body(contract.TYPE, example)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.TYPE)
def test_each_example_round_trips_through_its_contract(contract: type[EventData]) -> None:
    example = event_schema(contract)["examples"][0]
    envelope = CloudEvent.from_dict(example).typed(contract)
    assert isinstance(envelope.data, contract)
    assert envelope.data.to_data() == example["data"]
    assert envelope.data.subject() == example.get("subject")


def test_consumers_take_declared_contracts_and_every_queue_is_a_channel_consumer() -> None:
    subscriptions = catalogue_subscriptions()
    declared = {c.TYPE for c in contracts()}
    for subscription in subscriptions:
        assert set(subscription.event_types) <= declared, subscription.queue
    consumers = {(service, handler) for channel in channels(subscriptions) for service, handler in channel.consumers}
    assert consumers == {(s.service, s.handler) for s in subscriptions}
    assert ("messaging", "send_welcome_kit") in consumers  # the queue names of the services' method names
