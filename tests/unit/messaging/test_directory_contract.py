"""The stand-in directory and the RPC adapter both keep to schemas/rpc/directory.json."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from services.messaging.adapters.directory import parse_mailbox
from services.messaging.crypto.testing import Identity
from tests.integration.messaging.conftest import ALICE, OBJECTING_INS, directory_fixture
from tests.support.directory_standin import standin_service

CONTRACT = json.loads((Path(__file__).resolve().parents[3] / "schemas/rpc/directory.json").read_text())


def result_validator(method: str) -> Draft202012Validator:
    schema = {**CONTRACT["methods"][method]["result"], "$defs": CONTRACT["$defs"]}
    return Draft202012Validator(schema)


@pytest.fixture
def standin(pki: dict[str, Identity]) -> Any:
    identities = {"alice": pki["alice"], "bob": pki["bob"], "carol": pki["carol"], "dave": pki["dave"]}
    return standin_service(directory_fixture(identities))()


def test_the_stand_in_answers_resolve_addresses_as_the_contract_says(standin: Any) -> None:
    answer = standin.resolve_addresses([ALICE.upper(), "personne@nulle-part.test"])
    result_validator("resolve_addresses").validate(answer)
    assert answer["personne@nulle-part.test"] is None
    mailbox = parse_mailbox(answer[ALICE.upper()])
    assert mailbox is not None and mailbox.address == ALICE and mailbox.certificate_window is not None


def test_the_stand_in_answers_exchange_objection_as_the_contract_says(standin: Any) -> None:
    for ins, objects in ((OBJECTING_INS, True), ("180012B00100188", False)):
        answer = standin.exchange_objection(ins)
        result_validator("exchange_objection").validate(answer)
        assert answer["objects_to_exchange"] is objects
