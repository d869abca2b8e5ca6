"""Messages platform services ask for (message.requested): resolved, sealed as the operator, sent once per key."""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from services.messaging.adapters.composer import INS_HEADER
from services.messaging.adapters.tables import BUS_TABLES, messages
from services.messaging.handlers import requests
from services.shared.bus.envelope import CloudEvent
from services.shared.bus.schemas import validate_event_body
from services.shared.clients.messaging import (
    DEV_OPERATOR_CERTIFICATE,
    NoticeAttachment,
    load_operator_certificate,
    request_message,
)
from services.shared.contracts.events import EventData, source_of
from services.shared.contracts.messaging_events import MESSAGE_REQUEST_BOUNCED, MESSAGE_SENT
from services.shared.db import UnitOfWork
from services.shared.errors import Invalid, TooLarge
from services.shared.pki.cms import decrypt, verify
from tests.unit.messaging.world import BOB, CAROL, RPPS, SECRETARIAT, UNKNOWN, World

INS = "269054958815780"
SUBJECT = "Admission de votre patient au CHU"
TEXT = "Bonjour Docteur,\nvotre patiente DUPONT Jeanne a été admise ce jour en cardiologie.\n"


@dataclass
class Outbox:
    """The caller's unit of work as request_message sees it: its service, and what it published."""

    service: str = "coordination"
    published: list[CloudEvent] = field(default_factory=list)

    def publish(self, event: EventData) -> CloudEvent:
        envelope = CloudEvent(type=event.TYPE, source=source_of(self.service), data=event.to_data(),
                              subject=event.subject())
        validate_event_body(envelope.type, envelope.to_dict())  # what the relay would publish is schema-valid
        self.published.append(envelope)
        return envelope


@pytest.fixture
def world(world: World) -> World:
    world.directory.professionals = {
        "8" + RPPS["bob"]: (SECRETARIAT, BOB),  # an ORG mailbox and his own: his own is chosen
        "8" + RPPS["carol"]: (SECRETARIAT,),  # an ORG mailbox only: that one
        "8" + RPPS["dave"]: ("ferme@cabinet.test", "sanscert@cabinet.test"),  # none can receive
    }
    return world


def requested(world: World, key: str = "admission-1.gp", *, service: str = "coordination", **changes: Any
              ) -> CloudEvent:
    arguments: dict[str, Any] = {"subject": SUBJECT, "text": TEXT, "addresses": (BOB,), **changes}
    return request_message(Outbox(service), key=key, operator_certificate=world.operator.certificate, **arguments)


def handle(world: World, event: CloudEvent) -> None:
    world.handle(event, requests.send_requested, **world.deps())


def answers(world: World, event_type: str) -> list[dict[str, Any]]:
    return [event.data for event in world.events(event_type)]


def opened(world: World, reader: str, message_id: str) -> email.message.EmailMessage:
    identity = world.pki[reader]
    signed = verify(decrypt(world.ciphertext(message_id), identity.cert, identity.key), list(world.operator.chain))
    return email.message_from_bytes(signed.content, policy=email.policy.default)  # type: ignore[return-value]


def test_a_request_is_sent_from_the_platform_signed_by_the_operator_and_answered(world: World) -> None:
    event = requested(world, professionals=(RPPS["carol"],), patient_ins=INS, in_reply_to=None)
    assert SUBJECT not in event.to_json().decode() and "DUPONT" not in event.to_json().decode()
    assert INS not in event.to_json().decode()  # the patient and the health content are ciphertext on the bus
    handle(world, event)

    message_id = requests.request_message_id("coordination", "admission-1.gp")
    [sent] = answers(world, MESSAGE_SENT)
    assert sent["message_id"] == message_id and sent["request_key"] == "admission-1.gp"
    assert sent["requested_by"] == "coordination" and sorted(sent["recipients"]) == sorted([BOB, SECRETARIAT])
    assert answers(world, MESSAGE_REQUEST_BOUNCED) == []
    notice = opened(world, "bob", message_id)
    assert notice["From"] == world.platform.address and notice["Subject"] == SUBJECT
    assert notice[INS_HEADER] == INS and "DUPONT Jeanne" in notice.get_body().get_content()
    assert notice["X-Maillage-Authenticated-Sender"] == "service=coordination"  # whom the operator signs for
    assert world.mailbox_count(BOB) == 1 and world.mailbox_count(SECRETARIAT) == 1
    assert world.mailbox_count(world.platform.address, "sent") == 0  # the platform keeps no sent copy


def test_a_professional_is_sent_to_their_own_mailbox_rather_than_an_organisations(world: World) -> None:
    handle(world, requested(world, addresses=(), professionals=("8" + RPPS["bob"],)))
    [sent] = answers(world, MESSAGE_SENT)
    assert sent["recipients"] == [BOB] and world.mailbox_count(SECRETARIAT) == 0


def test_a_retransmitted_request_has_no_second_effect(world: World) -> None:
    first, again = requested(world), requested(world)  # the content encrypted anew, another event id
    assert first.id != again.id and first.data["content"] != again.data["content"]
    for event in (first, again, again):
        handle(world, event)
    assert world.count(messages) == 1 and world.mailbox_count(BOB) == 1
    assert len(answers(world, MESSAGE_SENT)) == 1

    other_service = requested(world, service="dmp_bridge")  # keys are unique per requesting service
    handle(world, other_service)
    assert world.count(messages) == 2


def test_a_key_reused_for_another_request_is_refused(world: World) -> None:
    handle(world, requested(world))
    with pytest.raises(Invalid, match="request_key was already used"):
        handle(world, requested(world, addresses=(CAROL,)))
    assert world.count(messages) == 1


def test_unknown_and_unreachable_recipients_bounce_with_the_requests_key(world: World) -> None:
    handle(world, requested(world, addresses=(BOB, UNKNOWN), professionals=(RPPS["dave"], "10000000041")))

    [bounced] = answers(world, MESSAGE_REQUEST_BOUNCED)
    assert bounced["request_key"] == "admission-1.gp" and bounced["message_id"] == answers(world, MESSAGE_SENT)[0][
        "message_id"]
    assert {(b["recipient"], b["code"]) for b in bounced["bounces"]} == {
        (UNKNOWN, "UNKNOWN_RECIPIENT"), ("8" + RPPS["dave"], "NO_MAILBOX"), ("810000000041", "UNKNOWN_PROFESSIONAL")}
    assert world.mailbox_count(BOB) == 1
    [generic] = world.events("message.bounced")  # the message's own bounce: no bounce notice to the platform
    assert generic.data["notify_sender"] is False


def test_a_request_nobody_can_receive_sends_nothing_and_is_answered_once(world: World) -> None:
    for _ in range(2):
        handle(world, requested(world, addresses=(UNKNOWN,)))
    [bounced] = answers(world, MESSAGE_REQUEST_BOUNCED)
    assert bounced["message_id"] is None and bounced["bounces"] == [{"recipient": UNKNOWN,
                                                                      "code": "UNKNOWN_RECIPIENT"}]
    assert world.count(messages) == 0 and answers(world, MESSAGE_SENT) == []


def test_the_patients_objection_stops_the_request(world: World) -> None:
    world.directory.object(INS)
    handle(world, requested(world, addresses=(BOB,), professionals=(RPPS["carol"],), patient_ins=INS))
    [bounced] = answers(world, MESSAGE_REQUEST_BOUNCED)
    assert bounced["message_id"] is None
    assert {(b["recipient"], b["code"]) for b in bounced["bounces"]} == {
        (BOB, "PATIENT_OBJECTION"), ("8" + RPPS["carol"], "PATIENT_OBJECTION")}
    assert world.count(messages) == 0 and world.mailbox_count(BOB) == 0


def test_only_platform_services_may_request(world: World) -> None:
    event = requested(world)
    for source in ("urn:maillage:service:probe", "https://ailleurs.example/"):
        forged = CloudEvent(type=event.type, source=source, data=event.data, subject=event.subject)
        with pytest.raises(Invalid, match="source names none"):
            handle(world, forged)
    impostor = CloudEvent(type=event.type, source=source_of("directory"), data=event.data, subject=event.subject)
    with pytest.raises(Invalid, match="requested_by"):
        handle(world, impostor)
    assert world.count(messages) == 0 and world.events(MESSAGE_SENT) == []


def test_content_the_operator_cannot_open_is_refused(world: World) -> None:
    event = request_message(Outbox(), key="k", subject=SUBJECT, text=TEXT, addresses=(BOB,),
                            operator_certificate=world.pki["bob"].cert)  # sealed for someone else
    with pytest.raises(Invalid, match="operator can decrypt") as refused:
        handle(world, event)
    assert refused.value.expression == "data/content"


def test_attachments_are_checked_like_any_message(world: World) -> None:
    pdf = NoticeAttachment("sortie.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")
    handle(world, requested(world, attachments=(pdf,)))
    [sent] = answers(world, MESSAGE_SENT)
    notice = opened(world, "bob", sent["message_id"])
    [part] = list(notice.iter_attachments())
    assert part.get_filename() == "sortie.pdf" and part.get_content() == pdf.data

    executable = NoticeAttachment("x.exe", "application/x-msdownload", b"MZ")
    with pytest.raises(Invalid):
        handle(world, requested(world, key="other", attachments=(executable,)))


def test_the_client_refuses_a_malformed_request_before_publishing(world: World) -> None:
    outbox = Outbox()
    for changes, field_name in (({"addresses": ("pas-une-adresse",)}, "addresses"),
                                ({"professionals": ("12345678901",)}, "professionals"),
                                ({"patient_ins": "123"}, "patient_ins"),
                                ({"addresses": ()}, "request")):
        with pytest.raises(Invalid) as refused:
            request_message(outbox, key="k", subject=SUBJECT, text=TEXT,
                            operator_certificate=world.operator.certificate, **changes)
        assert refused.value.expression == field_name
    with pytest.raises(Invalid) as bad_key:
        request_message(outbox, key="une clé", subject=SUBJECT, text=TEXT, addresses=(BOB,),
                        operator_certificate=world.operator.certificate)
    assert "clé" not in str(bad_key.value)
    big = NoticeAttachment("a.pdf", "application/pdf", b"0" * (2 * 1024 * 1024 + 1))
    with pytest.raises(TooLarge):
        request_message(outbox, key="k", subject=SUBJECT, text=TEXT, addresses=(BOB,), attachments=(big,),
                        operator_certificate=world.operator.certificate)
    assert outbox.published == []


def test_the_operator_certificate_of_a_development_messaging_is_found_under_var(world: World, tmp_path: Path
                                                                                ) -> None:
    certificate = load_operator_certificate(tmp_path / "var" / DEV_OPERATOR_CERTIFICATE)
    assert certificate == world.operator.certificate


def test_any_platform_service_may_publish_a_request_through_its_unit_of_work(world: World) -> None:
    with world.uow() as uow:  # messaging's own unit of work: a platform service
        request_message(uow, key="self", subject=SUBJECT, text=TEXT, addresses=(BOB,),
                        operator_certificate=world.operator.certificate)
        uow.commit()
    [stored] = world.events("message.requested")
    assert stored.source == source_of("messaging") and stored.subject == "MessageRequest/messaging/self"
    probe = UnitOfWork(world.engine, service="probe", outbox=BUS_TABLES[0], processed=BUS_TABLES[1])
    with pytest.raises(Invalid, match="not by probe"):
        request_message(probe, key="k", subject=SUBJECT, text=TEXT, addresses=(BOB,),
                        operator_certificate=world.operator.certificate)
    assert stored.data["addresses"] == [BOB]
