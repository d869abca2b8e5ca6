"""The "send on behalf of a platform service" contract: what the shared client publishes is what the committed
schema (schemas/events/message.requested.json) allows, its sealed content is what messaging reads, and the
directory's lookup_professional answers (schemas/rpc/directory.json) are read for the professionals' mailboxes."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from services.shared.bus.envelope import CloudEvent
from services.shared.clients.directory import DirectoryClient, TtlCache
from services.shared.clients.messaging import NoticeAttachment, request_message
from services.shared.contracts.events import EventData, source_of
from services.shared.contracts.messaging_events import MESSAGE_REQUESTED, MessageRequested, RequestedContent
from services.shared.pki.cms import decrypt
from tests.contract.test_directory_client_contract import METHODS, from_schema, schema
from tests.support.pki import make_ca, make_identity

EVENTS = Path(__file__).resolve().parents[2] / "schemas" / "events"
OPERATOR = make_identity(make_ca("Operator Contract CA"), "Maillage operator", kind="ec",
                         email="ne-pas-repondre@maillage.test")


def committed_validator(event_type: str) -> Draft202012Validator:
    """The committed file's schema, its envelope resolved from the committed _envelope.json."""
    envelope = json.loads((EVENTS / "_envelope.json").read_text())
    registry: Registry = Registry().with_resource(envelope["$id"], Resource.from_contents(envelope))
    return Draft202012Validator(json.loads((EVENTS / f"{event_type}.json").read_text()), registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass
class Outbox:
    service: str
    published: list[CloudEvent] = field(default_factory=list)

    def publish(self, event: EventData) -> CloudEvent:
        envelope = CloudEvent(type=event.TYPE, source=source_of(self.service), data=event.to_data(),
                              subject=event.subject())
        self.published.append(envelope)
        return envelope


@pytest.mark.parametrize("service", ["coordination", "dmp_bridge", "directory"])
def test_what_the_client_publishes_is_what_the_committed_schema_allows(service: str) -> None:
    event = request_message(
        Outbox(service), key="sejour-123.admission", subject="Admission", text="Bonjour,\nadmission ce jour.\n",
        addresses=(" Paul.Durand@Medecin.MSSante.fr",), professionals=("10000000009", "810000000017"),
        patient_ins="2 69 05 49 588 157 80", priority="urgent", in_reply_to="3f1c2a9e-5b7d-4e21-9c0a-6d8e2f4b1a77",
        attachments=(NoticeAttachment("cr.pdf", "application/pdf", b"%PDF-1.4\n"),),
        operator_certificate=OPERATOR.cert)
    body = event.to_dict()
    committed_validator(MESSAGE_REQUESTED).validate(body)
    assert body["source"] == source_of(service) and body["data"]["requested_by"] == service
    assert body["data"]["addresses"] == ["paul.durand@medecin.mssante.fr"]  # normalised
    assert body["data"]["professionals"] == ["810000000009", "810000000017"]  # as IDNPS
    assert CloudEvent.from_dict(body).typed(MessageRequested).data.to_data() == body["data"]

    sealed = base64.b64decode(body["data"]["content"])
    content = RequestedContent.model_validate_json(decrypt(sealed, OPERATOR.cert, OPERATOR.key))
    assert content.patient_ins == "269054958815780" and content.subject == "Admission"
    assert base64.b64decode(content.attachments[0].data) == b"%PDF-1.4\n"
    for clear in ("Admission", "admission ce jour", "269054958815780", "cr.pdf"):
        assert clear not in json.dumps(body["data"]["content"]) and clear.encode() not in sealed


def test_a_source_outside_the_platform_breaks_the_committed_schema() -> None:
    event = request_message(Outbox("coordination"), key="k", subject="s", text="t", addresses=("a@b.test",),
                            operator_certificate=OPERATOR.cert)
    assert not committed_validator(MESSAGE_REQUESTED).is_valid({**event.to_dict(),
                                                                 "source": "urn:maillage:service:intrus"})


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(from_schema(schema(METHODS["lookup_professional"]["result"])))
def test_every_lookup_professional_answer_gives_the_professionals_mailboxes(answer: Any) -> None:
    client = DirectoryClient(lambda method, **kwargs: answer, TtlCache(30, 5))
    mailboxes = client.professional_mailboxes("810000000009")
    if answer is None:
        assert mailboxes is None
    else:
        assert mailboxes == tuple(dict.fromkeys(address.lower() for address in answer.get("mailboxes", ())))


def test_the_directory_is_asked_by_the_identifier_as_given() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    client = DirectoryClient(lambda method, **kwargs: calls.append((method, kwargs)), TtlCache(30, 5))
    assert client.professional_mailboxes("10000000009") is None
    assert calls == [("lookup_professional", {"identifier": "10000000009"})]
