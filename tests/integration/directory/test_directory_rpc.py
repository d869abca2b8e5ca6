"""The directory's RPC over RabbitMQ, called as the messaging service calls it; answers validate the contract."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from tests.integration.directory.conftest import Directory
from tests.unit.directory.directory_world import CAB_BOX, JEANNE, JEANNE_BOX, PAUL, rpc_validator

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(directory: Directory) -> Iterator[Any]:
    with ClusterRpcProxy({"AMQP_URI": directory.amqp_uri}, timeout=30) as cluster:
        yield cluster.directory


def valid(method: str, result: Any) -> Any:
    assert [error.message for error in rpc_validator(method).iter_errors(result)] == []
    return result


def test_every_method_answers_its_contract(proxy: Any) -> None:
    resolved = valid("resolve_addresses", proxy.resolve_addresses(addresses=[JEANNE_BOX.upper(), CAB_BOX, "x@y.fr"]))
    assert resolved["x@y.fr"] is None and resolved[JEANNE_BOX.upper()]["owners"][0]["rpps"] == JEANNE.rpps
    assert valid("lookup_professional", proxy.lookup_professional(identifier=PAUL.rpps))["family"] == "DURAND"
    assert valid("lookup_professional", proxy.lookup_professional(identifier="10001000032")) is None
    assert valid("exchange_objection", proxy.exchange_objection(ins="279035121518989")) == {
        "objects_to_exchange": False, "refuses_dmp": False}
    assert valid("cpts_members", proxy.cpts_members(cpts_finess="750000044")) == []
    serving = valid("professionals_serving", proxy.professionals_serving(profession_code="10", postal_code="75011"))
    assert PAUL.rpps in {p["rpps"] for p in serving}


def test_a_bad_call_is_a_remote_error_naming_the_rule(proxy: Any) -> None:
    with pytest.raises(RemoteError) as caught:
        proxy.resolve_addresses(addresses=[f"a{n}@b.fr" for n in range(101)])
    assert caught.value.exc_type == "Invalid" and "100" in str(caught.value)
