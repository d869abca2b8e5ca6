"""The shared directory client: the contract's ResolvedMailbox parsed once, a TTL cache in front."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from services.messaging.domain.errors import BounceCode
from services.messaging.domain.rules import bounce_code
from services.shared.bus.envelope import CloudEvent
from services.shared.clients.directory import DirectoryClient, TtlCache, parse_mailbox
from services.shared.contracts.directory_events import CertificatePublished, CertificateRevoked
from tests.support.pki import Identity, make_ca, make_identity


@pytest.fixture(scope="module")
def pki() -> dict[str, Identity]:
    ca = make_ca("Maillage Test CA")
    return {"ca": ca, "bob": make_identity(ca, "Bob Durand"), "carol": make_identity(ca, "Carol Petit", kind="ec")}


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


def published(data: dict[str, Any]) -> Any:
    data = {"professional_idnps": None, "not_after": "2029-01-01T00:00:00Z", **data}
    return CloudEvent("certificate.published", "urn:maillage:service:directory", data).typed(CertificatePublished)


def revoked(data: dict[str, Any]) -> Any:
    return CloudEvent("certificate.revoked", "urn:maillage:service:directory", data).typed(CertificateRevoked)


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_resolution_is_cached_and_unknown_addresses_expire_sooner(pki: dict[str, Identity]) -> None:
    rpc, ticker = FakeDirectoryRpc({"bob@x.test": resolved("Bob@x.test", pki["bob"])}), Ticker()
    directory = DirectoryClient(rpc, TtlCache(ttl=30, negative_ttl=5, now=ticker))

    first = directory.resolve(["BOB@x.test", "nobody@x.test"])
    directory.resolve(["bob@x.test", "nobody@x.test"])
    ticker.now = 10
    directory.resolve(["bob@x.test", "nobody@x.test"])

    assert first["bob@x.test"] is not None and first["bob@x.test"].owners == {"10000000009"}
    assert first["nobody@x.test"] is None
    assert [call[1]["addresses"] for call in rpc.calls] == [["bob@x.test", "nobody@x.test"], ["nobody@x.test"]]


def test_objections_are_asked_every_time(pki: dict[str, Identity]) -> None:
    rpc = FakeDirectoryRpc({})
    directory = DirectoryClient(rpc, TtlCache(ttl=30, negative_ttl=5))
    assert directory.objects_to_exchange("X") and directory.objects_to_exchange("X")
    assert len(rpc.calls) == 2


def test_a_certificate_unfit_for_encryption_is_kept_but_unusable(pki: dict[str, Identity]) -> None:
    mailbox = parse_mailbox(resolved("ca@x.test", pki["ca"]))  # a CA certificate is no one's mailbox certificate
    assert mailbox is not None and mailbox.certificate is not None and mailbox.certificate_window is None


def _fingerprint(identity: Identity) -> str:
    return hashlib.sha256(identity.cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_a_revoked_certificate_is_never_used_once_the_event_is_handled(pki: dict[str, Identity]) -> None:
    rpc = FakeDirectoryRpc({"bob@x.test": resolved("bob@x.test", pki["bob"])})
    directory = DirectoryClient(rpc, TtlCache(ttl=30, negative_ttl=5))
    before = directory.resolve(["bob@x.test"])["bob@x.test"]
    assert before is not None and before.can_encrypt_at(datetime.now(UTC))

    directory.forget(revoked({"fingerprint": _fingerprint(pki["bob"]), "mailbox": None, "professional_idnps": None,
                              "owners": [], "revoked_at": "2026-01-01T00:00:00Z"}))
    # the cache asks again, and even an answer that still carries the certificate (sent before the
    # revocation reached the directory's replica, say) does not make it usable again
    after = directory.resolve(["bob@x.test"])["bob@x.test"]
    cached = directory.resolve(["bob@x.test"])["bob@x.test"]

    assert len(rpc.calls) == 2
    for mailbox in (after, cached):
        assert mailbox is not None and bounce_code(mailbox, datetime.now(UTC)) is BounceCode.INVALID_CERTIFICATE


def test_a_published_certificate_evicts_its_mailbox_and_its_owners_mailboxes(pki: dict[str, Identity]) -> None:
    rpc = FakeDirectoryRpc({"bob@x.test": resolved("bob@x.test", pki["bob"]),
                            "carol@x.test": resolved("carol@x.test", pki["carol"])})
    directory = DirectoryClient(rpc, TtlCache(ttl=30, negative_ttl=5))
    directory.resolve(["bob@x.test", "carol@x.test"])

    directory.forget(published({"fingerprint": "0" * 64, "mailbox": "BOB@x.test", "owners": []}))
    directory.resolve(["bob@x.test", "carol@x.test"])
    directory.forget(published({"fingerprint": "1" * 64, "mailbox": None, "owners": ["810000000009"]}))
    directory.resolve(["bob@x.test", "carol@x.test"])

    assert [call[1]["addresses"] for call in rpc.calls] == [
        ["bob@x.test", "carol@x.test"], ["bob@x.test"], ["bob@x.test", "carol@x.test"]]
    unused = directory.resolve(["bob@x.test"])["bob@x.test"]
    assert unused is not None and unused.can_encrypt_at(datetime.now(UTC))  # published ≠ revoked
