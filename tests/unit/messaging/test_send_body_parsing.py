"""The JSON body is validated in one pass over its bytes; refusals read as they did through json.loads."""
from __future__ import annotations

import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.messaging.adapters.http_requests import parse_send, send_from_request
from services.shared.errors import Invalid
from services.shared.web.responses import read_json

BODY = {"sender": "a@cabinet.test", "to": ["b@cabinet.test"], "subject": "Avis",
        "body": {"text": "Bonjour é\n"}, "read_receipt": True, "priority": "urgent"}


def request(data: bytes, content_type: str = "application/json") -> Request:
    return Request(EnvironBuilder(method="POST", data=data, content_type=content_type).get_environ())


@pytest.mark.parametrize("data", [json.dumps(BODY).encode(), json.dumps(BODY, ensure_ascii=False).encode(),
                                  json.dumps(BODY).encode("utf-16"), b"\xef\xbb\xbf" + json.dumps(BODY).encode()])
def test_a_valid_body_reads_as_through_json_loads(data: bytes) -> None:
    assert send_from_request(request(data)) == parse_send(json.loads(data))


@pytest.mark.parametrize("data", [b"", b"{", b'{"sender": NaN}', b"[]", b'{"sender": 1}', b'{"sender": "a", "x": 1}',
                                  json.dumps({**BODY, "to": "b@cabinet.test"}).encode()])
def test_a_refused_body_is_refused_in_the_same_words(data: bytes) -> None:
    with pytest.raises(Invalid) as fast:
        send_from_request(request(data))
    with pytest.raises(Invalid) as reference:
        parse_send(read_json(request(data)))
    assert (fast.value.message, fast.value.expression) == (reference.value.message, reference.value.expression)


def test_another_media_type_is_still_refused() -> None:
    with pytest.raises(Invalid) as refused:
        send_from_request(request(json.dumps(BODY).encode(), "text/plain"))
    assert refused.value.status == 415
