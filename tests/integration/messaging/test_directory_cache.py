"""Cached directory answers give way to the directory's certificate events (the real directory revokes)."""
from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.integration.messaging.conftest import Platform
from tests.support.messaging_world import ALICE, REVOKED
from tests.support.pki import Identity
from tests.support.platform import eventually


def _send(platform: Platform) -> dict[str, Any]:
    with platform.client("alice") as alice:
        answer = alice.post("/api/v1/messages", json={"sender": ALICE, "to": [REVOKED], "subject": "Suivi",
                                                      "body": {"text": "Bonjour.\n"}})
    assert answer.status_code == 202, answer.text
    [recipient] = answer.json()["recipients"]
    return dict(recipient)


def test_a_revoked_certificate_is_not_used_once_the_directory_has_revoked_it(platform: Platform,
                                                                              pki: dict[str, Identity]) -> None:
    assert _send(platform)["status"] == "delivered"  # the answer, certificate included, is now cached
    fingerprint = hashlib.sha256(pki["erin"].cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    with platform.client("dave") as owner:  # the mailbox's owner revokes its certificate in the directory
        revoked = owner.post(f"/api/v1/directory/certificates/{fingerprint}/revoke")
        assert revoked.status_code == 200, revoked.text

    # certificate.revoked reaches every messaging process, which drops the cached answer; the directory, asked
    # again, has no usable certificate for the mailbox: bounced from then on (a lagging directory answer still
    # carrying the revoked certificate is refused too: tests/unit/messaging/test_directory_adapter.py)
    eventually(lambda: _send(platform)["status"] == "bounced")
    for _ in range(3):
        assert _send(platform) | {"reason": None} == {"address": REVOKED, "kind": "to", "status": "bounced",
                                                      "code": "NO_CERTIFICATE", "reason": None}
