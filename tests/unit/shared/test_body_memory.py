"""Request bodies in memory: JSON read from the bytes as json.loads would read it; freed memory given back."""
from __future__ import annotations

import json
import math
import platform

import eventlet
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.shared.errors import Invalid
from services.shared.web import server
from services.shared.web.responses import read_json


def request_with(body: bytes) -> Request:
    return Request(EnvironBuilder(method="POST", data=body, content_type="application/json").get_environ())


@pytest.mark.parametrize("body", [
    b'{"a": [1, 2.5, "x\\u00e9", null, true, false, 12345678901234567890123, -0.0, 1e400]}',
    b'{"a": 1, "a": 2}',  # the last one wins, as with json.loads
    b"\xef\xbb\xbf{\"bom\": 1}",  # a UTF-8 BOM
    '{"utf16": "é"}'.encode("utf-16"),
    b"[" * 300 + b"]" * 300,  # deeper than pydantic's parser goes
    b' \n {"spaced": "out"} \n',
])
def test_json_bodies_read_as_json_loads_reads_them(body) -> None:
    expected = json.loads(body)
    found = read_json(request_with(body))
    assert found == expected or (isinstance(found, dict) and math.isinf(found["a"][-1]))
    assert type(found) is type(expected)


@pytest.mark.parametrize(("body", "words"), [
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b'{"a": Infinity}', "Infinity is not a JSON number"),
    (b'{"a": 1,}', "not valid JSON"),
    (b'{"a": "\x01"}', "not valid JSON"),
    (b'{"a": ', "line 1"),
    (b"\xff\xfe\xfd", "not valid JSON"),
    (b"   ", "empty"),
    # json.loads reads a lone surrogate, but it is no text: encoding it later was a 500
    (b'"\\ud800"', "lone UTF-16 surrogate"),
    (b'{"subject": "Avis \\udc00"}', "lone UTF-16 surrogate"),
])
def test_json_bodies_json_loads_refuses_are_refused_in_its_words(body, words) -> None:
    with pytest.raises(Invalid) as refused:
        read_json(request_with(body))
    assert words in refused.value.message


def test_a_large_request_gives_its_memory_back_to_the_os_once_released(monkeypatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(server.BodyBudget, "trim", trims.append)
    budget = server.BodyBudget(64 << 20)
    assert budget.take(server.TRIM_AFTER_BYTES) and budget.take(1000)
    budget.give_back(1000)  # a small request: nothing to give back
    eventlet.sleep(0.1)
    assert trims == []
    budget.give_back(server.TRIM_AFTER_BYTES)
    budget.take(10)  # others may come and go meanwhile
    eventlet.sleep(0.1)
    assert trims == [0] and budget.used == 10


def test_no_trim_while_other_large_bodies_are_held(monkeypatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(server.BodyBudget, "trim", trims.append)
    budget = server.BodyBudget(64 << 20)
    budget.take(2 * server.TRIM_AFTER_BYTES)
    budget.give_back(server.TRIM_AFTER_BYTES)
    eventlet.sleep(0.1)
    assert trims == []  # the other large body is still held: its memory could not go back anyway
    budget.give_back(server.TRIM_AFTER_BYTES)
    eventlet.sleep(0.1)
    assert trims == [0]


def test_malloc_trim_is_found_on_glibc() -> None:
    assert server._malloc_trim() is not None or platform.libc_ver()[0] != "glibc"
