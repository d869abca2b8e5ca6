"""Event contracts: a valid event passes, a broken one is refused with the path of the fault, never its value;
producers publish models, consumers get them typed."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from services.shared.bus.envelope import CloudEvent, MalformedEnvelope
from services.shared.bus.schemas import check_data, validate_event
from services.shared.contracts.directory_events import CertificatePublished, ProfessionalEnrolled
from services.shared.contracts.events import data_schema
from services.shared.contracts.messaging_events import MessageDelivered
from services.shared.db import UnitOfWork
from services.shared.errors import Invalid
from services.shared.testing.probe_service import BUS, ProbeCounted

MESSAGE = "3f1c2a9e-5b7d-4e21-9c0a-6d8e2f4b1a77"


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
    with pytest.raises(Invalid, match="No contract for event type"):
        validate_event(CloudEvent(type="nobody.knows", source="urn:maillage:service:probe", data={}))


def test_envelope_round_trip_and_malformed_bodies() -> None:
    event = probe({"n": 1})
    again = CloudEvent.from_json(event.to_json())
    assert again == event
    assert again.trace_id == event.trace_id
    for raw in (b"not json", b"[]", b'{"id": "x"}', b'{"id":"x","source":"s","type":"t","specversion":"0.3"}'):
        with pytest.raises(MalformedEnvelope):
            CloudEvent.from_json(raw)


def test_consumers_get_typed_data_and_a_broken_one_is_invalid_without_its_value() -> None:
    typed = probe({"n": 4, "poison": True, "later": "ignored"}).typed(ProbeCounted)
    assert typed.data == ProbeCounted(n=4, poison=True) and typed.type == "probe.counted"
    with pytest.raises(Invalid) as caught:
        probe({"n": "Dupont"}).typed(ProbeCounted)
    assert caught.value.expression == "data/n" and "Dupont" not in caught.value.message


def test_optional_fields_are_left_out_when_none_and_nullable_ones_sent_as_null() -> None:
    enrolled = ProfessionalEnrolled(enrolment_id="e", rpps="10001045367", mailbox="a@b.fr",
                                    enrolled_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
    data = enrolled.to_data()
    assert "display_name" not in data and "account_kit" not in data
    assert data["schema_version"] == 1 and data["enrolled_at"] == "2026-01-02T03:04:05+00:00"
    assert data_schema(ProfessionalEnrolled)["properties"]["display_name"] == {
        "type": "string",
        "description": "Civility and name of the professional, for the kit's greeting (not patient data)."}
    published = CertificatePublished(fingerprint="0" * 64, mailbox=None, professional_idnps="810001045367",
                                     owners=("810001045367",), not_after=datetime(2029, 1, 1, tzinfo=UTC))
    assert published.to_data()["mailbox"] is None
    assert data_schema(CertificatePublished)["properties"]["mailbox"]["type"] == ["string", "null"]


def test_the_compiled_check_refuses_what_pydantic_lets_through() -> None:
    delivered = MessageDelivered(message_id="not-a-uuid", sender="a@b.fr", recipients=("c@d.fr",),
                                 delivered_at=datetime.now(UTC))
    with pytest.raises(Invalid) as caught:
        check_data(MessageDelivered, delivered.to_data())
    assert caught.value.expression == "data/message_id"


def test_publish_takes_a_model_its_subject_and_only_from_its_publisher() -> None:
    engine = sa.create_engine("sqlite://")
    BUS[0].metadata.create_all(engine)
    with UnitOfWork(engine, service="probe", outbox=BUS[0], processed=BUS[1]) as uow:
        event = uow.publish(ProbeCounted(n=7))
        assert (event.type, event.subject, event.data) == ("probe.counted", "probe/7", {"n": 7, "poison": False})
        assert event.source == "urn:maillage:service:probe"
    delivered = MessageDelivered(message_id=MESSAGE, sender="a@b.fr", recipients=("c@d.fr",),
                                 delivered_at=datetime.now(UTC))
    with UnitOfWork(engine, service="probe", outbox=BUS[0], processed=BUS[1]) as uow, \
            pytest.raises(Invalid, match="published by messaging only"):
        uow.publish(delivered)
