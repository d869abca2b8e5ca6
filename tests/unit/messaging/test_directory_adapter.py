"""The RPC directory adapter: the contract's ResolvedMailbox parsed once, a TTL cache in front."""
from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization

from services.messaging.adapters.directory import RpcDirectory, TtlCache, parse_mailbox
from services.messaging.crypto.testing import Identity


class FakeDirectoryRpc:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, method: str, **kwargs: Any) -> Any:
        self.calls.append((method, kwargs))
        if method == "exchange_objection":
            return {"objects_to_exchange": kwargs["ins"] == "X", "refuses_dmp": False}
        return {address: self.answers.get(address.lower()) for address in kwargs["addresses"]}


def resolved(address: str, identity: Identity | None) -> dict[str, Any]:
    pem = identity.cert.public_bytes(serialization.Encoding.PEM).decode() if identity else None
    return {"address": address, "type": "PER", "active": True, "owners": [{"rpps": "10000000009"}],
            "organisation_finess": None, "certificate_pem": pem}


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_resolution_is_cached_and_unknown_addresses_expire_sooner(pki: dict[str, Identity]) -> None:
    rpc, ticker = FakeDirectoryRpc({"bob@x.test": resolved("Bob@x.test", pki["bob"])}), Ticker()
    directory = RpcDirectory(rpc, TtlCache(ttl=30, negative_ttl=5, now=ticker))

    first = directory.resolve(["BOB@x.test", "nobody@x.test"])
    directory.resolve(["bob@x.test", "nobody@x.test"])
    ticker.now = 10
    directory.resolve(["bob@x.test", "nobody@x.test"])

    assert first["bob@x.test"] is not None and first["bob@x.test"].owners == {"10000000009"}
    assert first["nobody@x.test"] is None
    assert [call[1]["addresses"] for call in rpc.calls] == [["bob@x.test", "nobody@x.test"], ["nobody@x.test"]]


def test_objections_are_asked_every_time(pki: dict[str, Identity]) -> None:
    rpc = FakeDirectoryRpc({})
    directory = RpcDirectory(rpc, TtlCache(ttl=30, negative_ttl=5))
    assert directory.objects_to_exchange("X") and directory.objects_to_exchange("X")
    assert len(rpc.calls) == 2


def test_a_certificate_unfit_for_encryption_is_kept_but_unusable(pki: dict[str, Identity]) -> None:
    mailbox = parse_mailbox(resolved("ca@x.test", pki["ca"]))  # a CA certificate is no one's mailbox certificate
    assert mailbox is not None and mailbox.certificate is not None and mailbox.certificate_window is None
