"""A FHIR Communication into a send command: its shape checked first, every refusal a 4xx naming the element."""
from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from services.messaging.adapters import fhir, http_requests
from services.messaging.domain.limits import Limits
from services.messaging.domain.model import Author
from services.shared.errors import Invalid, MaillageError, Unprocessable

ALICE, BOB = "alice@cabinet.test", "bob@cabinet.test"
INS = "279035121518989"  # the ANS test INS
AUTHOR = Author(subject="810001045367", rpps="10001045367")
VALID: dict[str, Any] = {
    "resourceType": "Communication", "status": "in-progress", "priority": "urgent",
    "sender": {"identifier": {"system": fhir.MAILBOX_SYSTEM, "value": ALICE}},
    "recipient": [{"identifier": {"value": BOB}}, {"reference": f"mailto:{ALICE}"}],
    "topic": {"text": "Sortie d'hospitalisation"},
    "subject": {"identifier": {"system": fhir.INS_SYSTEM, "value": INS}},
    "inResponseTo": [{"reference": "Communication/0b6f3c1e-8f2a-4f43-9b1e-2f7e3c9d1a11"}],
    "extension": [{"url": fhir.READ_RECEIPT, "valueBoolean": True}],
    "payload": [{"contentString": "Bonjour,"},
                {"contentAttachment": {"contentType": "application/pdf", "title": "lettre.pdf",
                                       "data": base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()}}],
}


def command(resource: dict[str, Any]) -> Any:
    """What the FHIR route does before submitting: the same chain, the same error expressions."""
    data = fhir.communication_to_request(resource)
    with fhir.fhir_expressions(data.pop("_payload_of_attachment")):
        body = http_requests.parse_send(data)
        return http_requests.command_from_json(body, AUTHOR, None, Limits())


def refusal(resource: dict[str, Any]) -> MaillageError:
    with pytest.raises(MaillageError) as caught:
        command(resource)
    return caught.value


def test_a_valid_communication_is_a_command() -> None:
    sent = command(VALID)
    assert (sent.sender, [r.address for r in sent.recipients], sent.patient_ins) == (ALICE, [BOB, ALICE], INS)
    assert sent.read_receipt and sent.in_reply_to == "0b6f3c1e-8f2a-4f43-9b1e-2f7e3c9d1a11"
    assert sent.content.subject == "Sortie d'hospitalisation" and sent.content.attachments[0].filename == "lettre.pdf"


@pytest.mark.parametrize("element, value, expression", [  # the three reported 500s (TypeError, AttributeError)
    ("topic", "Sortie", "Communication.topic"),
    ("topic", {"text": ["a"]}, "Communication.topic.text"),
    ("extension", {"url": fhir.READ_RECEIPT}, "Communication.extension"),
    ("extension", ["x"], "Communication.extension[0]"),
    ("extension", [{"valueBoolean": True}], "Communication.extension[0]"),
    ("inResponseTo", "Communication/1", "Communication.inResponseTo"),
    ("inResponseTo", [{"reference": 7}], "Communication.inResponseTo[0].reference"),
    ("subject", "Patient/1", "Communication.subject"),
    ("subject", {"identifier": {"system": fhir.INS_SYSTEM, "value": 279035121518989}},
     "Communication.subject.identifier.value"),
    ("sender", {"identifier": {"value": None}}, "Communication.sender.identifier.value"),
    ("recipient", {"identifier": {"value": BOB}}, "Communication.recipient"),
    ("priority", ["urgent"], "Communication.priority"),
    ("payload", [], "Communication.payload"),
    ("payload", [{"contentAttachment": {"contentType": "application/pdf", "data": 1}}],
     "Communication.payload[0].contentAttachment.data"),
    ("payload", [{"contentString": "a"}, {"contentAttachment": {"title": {}, "data": "", "contentType": "a/b"}}],
     "Communication.payload[1].contentAttachment.title"),
    ("status", 1, "Communication.status"),
    ("about", {"reference": "x"}, "Communication.about"),
])
def test_an_element_of_the_wrong_json_type_is_a_400_naming_it(element: str, value: Any, expression: str) -> None:
    refused = refusal({**VALID, element: value})
    assert (type(refused), refused.expression) == (Invalid, expression)
    assert str(value) not in refused.message or isinstance(value, (list, dict)) and not value


@pytest.mark.parametrize("element", sorted(fhir.COMMUNICATION_ELEMENTS))
@pytest.mark.parametrize("value", [None, 1, 1.5, True, "x", [], [1], {}, {"a": 1}])
def test_every_element_takes_only_its_type(element: str, value: Any) -> None:
    try:
        command({**VALID, element: value})
    except MaillageError as refused:
        assert refused.status in (400, 413, 422) and refused.expression
        assert refused.expression.startswith("Communication")


def test_unknown_elements_and_modifier_extensions_are_refused() -> None:
    unknown = refusal({**VALID, "patientName": "DUPONT"})
    assert (unknown.expression, "DUPONT" in unknown.message) == ("Communication.patientName", False)
    assert refusal({**VALID, "x" * 500: 1}).expression == "Communication.?"
    modifier = refusal({**VALID, "modifierExtension": [{"url": "https://example.org/no-objection-check"}]})
    assert modifier.expression == "Communication.modifierExtension"
    assert command({**VALID, "_status": {"extension": []}, "note": [{"text": "vu"}]}).sender == ALICE


@pytest.mark.parametrize("subject, expression", [
    ({"identifier": {"system": "urn:oid:1.2.250.1.71.4.2.7", "value": "IPP123"}},
     "Communication.subject.identifier.system"),
    ({"identifier": {"value": INS}}, "Communication.subject.identifier.system"),
    ({"reference": "Patient/123"}, "Communication.subject.reference"),
    ({"display": "Jeanne DUPONT"}, "Communication.subject.identifier"),
    # a second patient beside the INS would travel unchecked
    ({"identifier": {"system": fhir.INS_SYSTEM, "value": INS}, "reference": "Patient/other"},
     "Communication.subject.reference"),
    ({"identifier": {"system": fhir.INS_SYSTEM, "value": INS}, "type": "Group"}, "Communication.subject.type"),
])
def test_a_patient_named_without_an_ins_is_refused(subject: dict[str, Any], expression: str) -> None:
    refused = refusal({**VALID, "subject": subject})
    assert (type(refused), refused.status, refused.expression) == (Unprocessable, 422, expression)
    assert "DUPONT" not in refused.message and "IPP123" not in refused.message


def test_every_ins_system_is_read_and_checked_like_the_nir() -> None:
    for system in fhir.INS_SYSTEMS:
        assert command({**VALID, "subject": {"identifier": {"system": system, "value": INS}}}).patient_ins == INS
    bad_key = refusal({**VALID, "subject": {"identifier": {"system": fhir.INS_SYSTEMS[1], "value": INS[:-1] + "0"}}})
    assert bad_key.expression == "Communication.subject.identifier.value" and INS not in bad_key.message
    empty = refusal({**VALID, "subject": {"identifier": {"system": fhir.INS_SYSTEM}}})
    assert empty.expression == "Communication.subject.identifier.value"
    assert command({key: value for key, value in VALID.items() if key != "subject"}).patient_ins is None


@pytest.mark.parametrize("changes, expression", [
    ({"about": [{"reference": "Patient/123"}]}, "Communication.about[0]"),
    ({"about": [{"reference": "DocumentReference/1"}, {"identifier": {"system": fhir.INS_SYSTEM, "value": INS}}]},
     "Communication.about[1]"),
    ({"about": [{"type": "Patient", "display": "x"}]}, "Communication.about[0]"),
    ({"contained": [{"resourceType": "Patient", "id": "p"}], "subject": {"reference": "#p"}},
     "Communication.contained[0]"),
])
def test_a_patient_named_outside_the_subject_is_refused(changes: dict[str, Any], expression: str) -> None:
    refused = refusal({**VALID, **changes})
    assert (refused.status, refused.expression) == (422, expression)


# A valid Communication with one value anywhere in it replaced by a value of another JSON type (or removed):
# a command or a 4xx naming a Communication element, never another exception.
def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*path, index))
    return found


PATHS = _paths(VALID)
_REMOVE = object()


def _mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    resource = copy.deepcopy(VALID)
    parent = resource
    for step in path[:-1]:
        parent = parent[step]
    if value is _REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return resource


def test_mutated_field_types_give_a_command_or_a_4xx() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8)

    @settings(max_examples=1500, deadline=None)
    @given(path=st.sampled_from(PATHS), value=json_values | st.just(_REMOVE))
    def check(path: tuple[Any, ...], value: Any) -> None:
        try:
            command(_mutated(path, value))
        except MaillageError as refused:
            assert refused.status < 500 and (refused.expression or "").startswith("Communication"), refused

    check()
