"""Consumer-side contract: the shared directory client parses every answer schemas/rpc/directory.json allows.

Answers are generated from the schema itself (``from_schema`` below covers the keywords the contract uses;
hypothesis-jsonschema does not run on this Hypothesis), with real certificates mixed in, plus one hand-built
example per branch; the client must never fail on a valid answer and must keep what it says.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from services.shared.clients.directory import DirectoryClient, Mailbox, TtlCache, parse_mailbox
from tests.support.pki import make_ca, make_identity

CONTRACT = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "rpc" / "directory.json").read_text())
METHODS = CONTRACT["methods"]


def schema(node: dict[str, Any]) -> dict[str, Any]:
    return {"$defs": CONTRACT["$defs"], **node}


def from_schema(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against ``node`` (a schema of the contract: $ref, oneOf, enum, type lists, objects with
    required and optional properties, arrays, strings with a pattern); every value is checked against it."""
    validator = Draft202012Validator(node)
    return _strategy(node).filter(validator.is_valid)


def _strategy(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in node:
        return st.deferred(lambda: _strategy(CONTRACT["$defs"][node["$ref"].rsplit("/", 1)[-1]]))
    if "oneOf" in node:
        return st.one_of([_strategy(branch) for branch in node["oneOf"]])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kinds = node.get("type", "object")
    if isinstance(kinds, list):
        return st.one_of([_strategy({**node, "type": kind}) for kind in kinds])
    if kinds == "null":
        return st.none()
    if kinds == "boolean":
        return st.booleans()
    if kinds == "string":
        return st.from_regex(node["pattern"], fullmatch=True) if "pattern" in node else st.text(max_size=40)
    if kinds == "array":
        return st.lists(_strategy(node.get("items", {})), max_size=min(node.get("maxItems", 4), 4))
    properties = node.get("properties", {})
    required = {name: _strategy(properties[name]) for name in node.get("required", ())}
    optional = {name: _strategy(sub) for name, sub in properties.items() if name not in required}
    if not properties and "additionalProperties" in node:
        return st.dictionaries(st.text(min_size=1, max_size=20), _strategy(node["additionalProperties"]), max_size=3)
    return st.fixed_dictionaries(required, optional=optional)


RESOLVED = schema({"$ref": "#/$defs/ResolvedMailbox"})
CA = make_ca("Contract CA")
BOB = make_identity(CA, "Bob Durand")
PEMS = [identity.cert.public_bytes(serialization.Encoding.PEM).decode() for identity in (BOB, CA)]
NOW = datetime.now(UTC)


def with_real_certificates(answer: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from([answer.get("certificate_pem"), *PEMS]).map(lambda pem: {**answer, "certificate_pem": pem})


mailboxes = from_schema(RESOLVED).flatmap(with_real_certificates)


def check(answer: dict[str, Any], mailbox: Mailbox | None) -> None:
    assert mailbox is not None
    assert mailbox.address == answer["address"].lower() and mailbox.type == answer["type"]
    assert mailbox.active is answer["active"]
    assert mailbox.owners == {owner["rpps"] for owner in answer["owners"]}
    assert mailbox.organisation_finess == answer.get("organisation_finess")
    pem = answer["certificate_pem"]
    assert (mailbox.certificate is not None) == (pem in PEMS)
    assert mailbox.can_encrypt_at(NOW) == (pem == PEMS[0])  # the CA's certificate is nobody's mailbox's


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mailboxes)
def test_every_resolved_mailbox_the_contract_allows_is_parsed(answer: dict[str, Any]) -> None:
    check(answer, parse_mailbox(answer, NOW))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.one_of(st.none(), mailboxes), min_size=1, max_size=5), st.data())
def test_resolve_addresses_answers_are_matched_case_insensitively(answers: list[Any], data: st.DataObject) -> None:
    asked = [f"box{index}@x.test" for index in range(len(answers))]
    result: dict[str, Any] = {}
    for address, answer in zip(asked, answers, strict=True):
        key = data.draw(st.sampled_from([address, address.upper()]))
        result[key] = None if answer is None else {**answer, "address": address}
    assert Draft202012Validator(schema(METHODS["resolve_addresses"]["result"])).is_valid(result)
    client = DirectoryClient(lambda method, **kwargs: result, TtlCache(30, 5))
    resolved = client.resolve(asked)
    for address, answer in zip(asked, answers, strict=True):
        if answer is None:
            assert resolved[address] is None
        else:
            check({**answer, "address": address}, resolved[address])


@settings(max_examples=30, deadline=None)
@given(from_schema(schema(METHODS["exchange_objection"]["result"])))
def test_exchange_objection_answers_are_read(answer: dict[str, Any]) -> None:
    client = DirectoryClient(lambda method, **kwargs: answer, TtlCache(30, 5))
    assert client.objects_to_exchange("1840312345678") is answer["objects_to_exchange"]


BRANCHES = {
    "usable certificate": {"address": "Bob@X.test", "type": "PER", "active": True,
                           "owners": [{"rpps": "10000000009", "idnps": "810000000009"}],
                           "organisation_finess": None, "certificate_pem": PEMS[0],
                           "certificate_fingerprint": "0" * 64},
    "unusable certificate": {"address": "ca@x.test", "type": "ORG", "active": True, "owners": [],
                             "organisation_finess": "750000001", "certificate_pem": PEMS[1]},
    "not a certificate": {"address": "junk@x.test", "type": "CAB", "active": True, "owners": [],
                          "certificate_pem": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"},
    "no certificate, inactive": {"address": "old@x.test", "type": "APP", "active": False,
                                 "owners": [{"rpps": "10000000009"}, {"rpps": "10000000017"}],
                                 "certificate_pem": None},
}


@pytest.mark.parametrize("name", BRANCHES)
def test_each_branch_by_hand(name: str) -> None:
    answer = BRANCHES[name]
    Draft202012Validator(RESOLVED).validate(answer)  # the example is one the contract allows
    mailbox = parse_mailbox(answer, NOW)
    if name == "not a certificate":
        assert mailbox is not None and mailbox.certificate is None and not mailbox.can_encrypt_at(NOW)
    else:
        check(answer, mailbox)
    assert parse_mailbox(None) is None  # an unknown address

