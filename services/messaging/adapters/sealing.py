"""Sign and encrypt what the platform builds; check what clients signed or encrypted themselves."""
from __future__ import annotations

import email
import email.message
import email.policy
from collections.abc import Sequence
from email.utils import getaddresses

from cryptography import x509

from services.messaging.adapters.composer import INS_HEADER
from services.messaging.crypto.addressing import addressed_to, enveloped_der, recipient_ids
from services.messaging.domain.model import Mailbox
from services.messaging.ports import OperatorPort
from services.shared.errors import Invalid, Unprocessable
from services.shared.identifiers import check_ins
from services.shared.pki.cms import verify
from services.shared.pki.envelope_der import encrypt_der
from services.shared.pki.revocation import Revocations


def seal_as_operator(mime: bytes, operator: OperatorPort, recipients: Sequence[x509.Certificate]) -> bytes:
    """Operator signature, then AES-256 encryption for every certificate: CMS EnvelopedData, DER."""
    return encrypt_der(operator.sign(mime), list(recipients))


def encrypt_client_signed(smime: bytes, sender: str, recipients: Sequence[x509.Certificate],
                          trusted: list[x509.Certificate] | None, revocations: Revocations | None = None,
                          *, patient_ins: str | None = None,
                          sender_certificate: x509.Certificate | None = None) -> bytes:
    """Verify the sender's own signature — its chain when trust anchors are configured, else that it is
    the certificate the directory publishes for the sender's mailbox (any self-made certificate verifies
    its own signature) —, check that the signed headers agree with the routing (sender, patient), then
    encrypt."""
    verified = verify(smime, trusted, revocations=revocations)
    if trusted is None and (sender_certificate is None or verified.signer_cert != sender_certificate):
        raise Unprocessable("The message is not signed with the certificate the directory publishes for "
                            "'sender' (no trust anchors are configured to judge another).",
                            expression="signed_mime")
    head = _signed_head(verified.content)
    _check_from(head, sender)
    _check_patient(head, patient_ins)
    return encrypt_der(smime, list(recipients))


def _signed_head(mime: bytes) -> email.message.Message:
    head = mime.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.compat32)


def _check_from(head: email.message.Message, sender: str) -> None:
    found = [address.lower() for _, address in getaddresses(head.get_all("From", []))]
    if found != [sender]:
        raise Unprocessable("The signed message's From header must name the 'sender' mailbox, and it alone.",
                            expression="signed_mime")


def _check_patient(head: email.message.Message, patient_ins: str | None) -> None:
    """A patient the signed message names (X-MSS-INS) must be the one the routing names, so that the
    patient's objection to exchange, checked on ``patient_ins``, is checked for the patient the message is about."""
    named = {value.strip() for value in head.get_all(INS_HEADER, [])}
    if not named:
        return
    try:
        found = {check_ins(value, "patient_ins") for value in named}
    except Invalid:
        raise Unprocessable(f"The signed message's {INS_HEADER} header is not a valid INS.",
                            expression="signed_mime") from None
    if found != {patient_ins}:
        raise Unprocessable(f"The signed message's {INS_HEADER} header names another patient than 'patient_ins'"
                            " (give the patient's INS in 'patient_ins').", expression="patient_ins")


def route_end_to_end(smime: bytes, recipients: Sequence[Mailbox]) -> tuple[bytes, list[str]]:
    """The DER to store, and the recipients whose certificate the sender did not encrypt for."""
    der = enveloped_der(smime)
    ids = recipient_ids(der)
    missed = [box.address for box in recipients if box.certificate is None or not addressed_to(ids, box.certificate)]
    return der, missed
