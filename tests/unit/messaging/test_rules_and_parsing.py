"""Addresses, recipient counts and the JSON API body: precise errors naming the field."""
from __future__ import annotations

import base64

import pytest

from services.messaging.adapters.http_requests import command_from_json, parse_send
from services.messaging.domain.limits import Limits
from services.messaging.domain.model import Author
from services.shared.errors import Invalid

AUTHOR = Author("810000000009", rpps="10000000009")


def body(**changes: object) -> dict[str, object]:
    return {"sender": "alice@cabinet.test", "to": ["bob@cabinet.test"], "subject": "s", "body": {"text": "t"},
            **changes}


@pytest.mark.parametrize("changes, where", [
    ({"to": ["not-an-address"]}, "to[0]"),
    ({"to": [], "cc": []}, "to"),
    ({"to": [f"p{i}@x.test" for i in range(51)]}, "to"),
    ({"attachments": [{"filename": "a.pdf", "content_type": "application/pdf", "data": "***"}]}, "attachments[0].data"),
    ({"signed_mime": "AAAA"}, "body"),
    ({"in_reply_to": "yesterday"}, "in_reply_to"),
    ({"priority": "whenever"}, "priority"),
    ({"unexpected": 1}, "unexpected"),
])
def test_bad_bodies_name_the_field(changes: dict[str, object], where: str) -> None:
    with pytest.raises(Invalid) as refused:
        command_from_json(parse_send(body(**changes)), AUTHOR, None, Limits())
    assert refused.value.expression == where


def test_recipients_are_normalised_and_deduplicated_to_before_cc() -> None:
    pdf = base64.b64encode(b"%PDF-1.4").decode()
    command = command_from_json(parse_send(body(to=["Bob@Cabinet.test"], cc=["bob@cabinet.test", "c@x.test"],
                                                attachments=[{"filename": "a.pdf", "content_type": "application/pdf",
                                                              "data": pdf}])), AUTHOR, None, Limits())
    assert [(r.address, r.kind.value) for r in command.recipients] == [("bob@cabinet.test", "to"), ("c@x.test", "cc")]
