"""Cached directory answers give way to the directory's certificate events."""
from __future__ import annotations

import hashlib
from typing import Any

import amqp
from cryptography.hazmat.primitives import serialization

from services.messaging.crypto.testing import Identity
from services.shared.bus.amqp import connect
from services.shared.bus.envelope import CloudEvent
from services.shared.bus.topology import EVENTS_EXCHANGE
from tests.integration.messaging.conftest import ALICE, REVOKED, Platform, eventually


def _send(platform: Platform) -> dict[str, Any]:
    with platform.client("alice") as alice:
        answer = alice.post("/api/v1/messages", json={"sender": ALICE, "to": [REVOKED], "subject": "Suivi",
                                                      "body": {"text": "Bonjour.\n"}})
    assert answer.status_code == 202, answer.text
    [recipient] = answer.json()["recipients"]
    return dict(recipient)


def _publish(platform: Platform, event: CloudEvent) -> None:
    connection = connect(platform.amqp_uri)
    try:
        connection.channel().basic_publish(
            amqp.Message(event.to_json(), content_type="application/cloudevents+json", delivery_mode=2),
            exchange=EVENTS_EXCHANGE, routing_key=event.type)
    finally:
        connection.close()


def test_a_revoked_certificate_is_not_used_once_the_event_is_handled(platform: Platform,
                                                                    pki: dict[str, Identity]) -> None:
    assert _send(platform)["status"] == "delivered"  # the answer, certificate included, is now cached
    fingerprint = hashlib.sha256(pki["erin"].cert.public_bytes(serialization.Encoding.DER)).hexdigest()

    _publish(platform, CloudEvent(type="certificate.revoked", source="urn:maillage:service:directory", data={
        "schema_version": 1, "fingerprint": fingerprint, "mailbox": REVOKED, "professional_idnps": None,
        "owners": ["810000000033"], "revoked_at": "2026-01-01T00:00:00.000+00:00"}))

    # the stand-in directory still answers with the certificate (as a lagging replica would): once the
    # event is handled, the cache refuses it all the same, and keeps refusing it
    eventually(lambda: _send(platform)["status"] == "bounced")
    for _ in range(3):
        assert _send(platform) | {"reason": None} == {"address": REVOKED, "kind": "to", "status": "bounced",
                                                      "code": "INVALID_CERTIFICATE", "reason": None}
