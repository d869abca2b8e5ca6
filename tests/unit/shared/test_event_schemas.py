"""Event validation: a valid event passes, a broken one is refused with the path of the fault, never its value."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.shared.bus.envelope import CloudEvent, MalformedEnvelope
from services.shared.bus.schemas import add_schema_dir, validate_event
from services.shared.errors import Invalid

add_schema_dir(Path(__file__).resolve().parents[3] / "services" / "shared" / "testing" / "schemas")


def probe(data: dict) -> CloudEvent:  # type: ignore[type-arg]
    return CloudEvent(type="probe.counted", source="urn:maillage:service:probe", data=data)


def test_valid_event_passes() -> None:
    validate_event(probe({"n": 3}))


def test_broken_data_names_the_path_not_the_value() -> None:
    with pytest.raises(Invalid) as caught:
        validate_event(probe({"n": "Dupont"}))
    assert caught.value.expression == "data/n"
    assert "Dupont" not in caught.value.message


def test_envelope_rules_apply_to_every_event() -> None:
    event = CloudEvent(type="probe.counted", source="not-a-maillage-urn", data={"n": 1})
    with pytest.raises(Invalid) as caught:
        validate_event(event)
    assert caught.value.expression == "source"


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(Invalid, match="No schema for event type"):
        validate_event(CloudEvent(type="nobody.knows", source="urn:maillage:service:probe", data={}))


def test_envelope_round_trip_and_malformed_bodies() -> None:
    event = probe({"n": 1})
    again = CloudEvent.from_json(event.to_json())
    assert again == event
    assert again.trace_id == event.trace_id
    for raw in (b"not json", b"[]", b'{"id": "x"}', b'{"id":"x","source":"s","type":"t","specversion":"0.3"}'):
        with pytest.raises(MalformedEnvelope):
            CloudEvent.from_json(raw)
