"""Sign and encrypt what the platform builds; check what clients signed or encrypted themselves."""
from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from email.utils import getaddresses

from cryptography import x509

from services.messaging.crypto.addressing import addressed_to, enveloped_der, recipient_ids
from services.messaging.domain.model import Mailbox
from services.messaging.ports import OperatorPort
from services.shared.errors import Unprocessable
from services.shared.pki.cms import verify
from services.shared.pki.envelope_der import encrypt_der
from services.shared.pki.revocation import Revocations


def seal_as_operator(mime: bytes, operator: OperatorPort, recipients: Sequence[x509.Certificate]) -> bytes:
    """Operator signature, then AES-256 encryption for every certificate: CMS EnvelopedData, DER."""
    return encrypt_der(operator.sign(mime), list(recipients))


def encrypt_client_signed(smime: bytes, sender: str, recipients: Sequence[x509.Certificate],
                          trusted: list[x509.Certificate] | None, revocations: Revocations | None = None) -> bytes:
    """Verify the sender's own signature (and its chain when trust anchors are configured), then encrypt."""
    verified = verify(smime, trusted, revocations=revocations)
    _check_from(verified.content, sender)
    return encrypt_der(smime, list(recipients))


def _check_from(mime: bytes, sender: str) -> None:
    head = mime.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    message = email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.compat32)
    found = [address.lower() for _, address in getaddresses(message.get_all("From", []))]
    if found and found != [sender]:
        raise Unprocessable("The signed message's From header names another mailbox than 'sender'.",
                            expression="signed_mime")


def route_end_to_end(smime: bytes, recipients: Sequence[Mailbox]) -> tuple[bytes, list[str]]:
    """The DER to store, and the recipients whose certificate the sender did not encrypt for."""
    der = enveloped_der(smime)
    ids = recipient_ids(der)
    missed = [box.address for box in recipients if box.certificate is None or not addressed_to(ids, box.certificate)]
    return der, missed
