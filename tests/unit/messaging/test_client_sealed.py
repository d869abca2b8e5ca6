"""Messages the client signed (the platform encrypts) or signed and encrypted (the platform only routes)."""
from __future__ import annotations

import pytest

from services.messaging.adapters.sealing import _check_from, _signed_head
from services.messaging.crypto.mime import MessageContent, build_message, parse_message
from services.messaging.domain.commands import EncryptedByClient, SignedByClient
from services.messaging.domain.errors import ExchangeObjection
from services.shared.errors import Unprocessable
from services.shared.pki.cms import decrypt, encrypt, open_sealed, seal, sign
from services.shared.pki.errors import BadSignature, MalformedMessage
from tests.support.pki import make_ca, make_identity
from tests.unit.messaging.world import ALICE, BOB, CAROL, World

INS = "180012B00100188"  # a Corsican NIR (2B) with its key
OTHER_INS = "285037512345688"
MIME = build_message(MessageContent(subject="Avis", text="Bonjour\n", headers={"From": ALICE, "To": BOB}))


def test_a_client_signed_message_is_encrypted_for_recipients_and_keeps_the_senders_signature(world: World) -> None:
    signed = sign(MIME, world.pki["alice"].cert, world.pki["alice"].key)

    body = world.submit(content=SignedByClient(signed)).body

    verified = open_sealed(world.ciphertext(body["id"]), world.pki["bob"].cert, world.pki["bob"].key,
                           [world.pki["ca"].cert])
    assert verified.signer_cert == world.pki["alice"].cert and parse_message(verified.content).subject == "Avis"


def test_a_tampered_client_signature_is_refused(world: World) -> None:
    signed = sign(MIME, world.pki["alice"].cert, world.pki["alice"].key, detached=True)
    with pytest.raises(BadSignature) as refused:
        world.submit(content=SignedByClient(signed.replace(b"Bonjour", b"Bonsoir")))
    assert refused.value.expression == "signed_mime"


def test_a_client_signed_message_must_come_from_the_sender_mailbox(world: World) -> None:
    other = build_message(MessageContent(subject="Avis", text="x\n", headers={"From": CAROL}))
    with pytest.raises(Unprocessable):
        world.submit(content=SignedByClient(sign(other, world.pki["alice"].cert, world.pki["alice"].key)))


def test_end_to_end_ciphertext_is_stored_as_sent_and_missing_recipients_bounce(world: World) -> None:
    alice = world.pki["alice"]
    sealed = seal(MIME, alice.cert, alice.key, [world.pki["bob"].cert, alice.cert])

    body = world.submit(cc=(CAROL,), content=EncryptedByClient(sealed)).body

    statuses = {r["address"]: r.get("code") for r in body["recipients"]}
    assert statuses == {BOB: None, CAROL: "NOT_ENCRYPTED_FOR_RECIPIENT"}
    assert decrypt(world.ciphertext(body["id"]), world.pki["bob"].cert, world.pki["bob"].key) == \
        decrypt(sealed, world.pki["bob"].cert, world.pki["bob"].key)


def test_end_to_end_content_must_be_enveloped_data(world: World) -> None:
    with pytest.raises(MalformedMessage) as refused:
        world.submit(content=EncryptedByClient(sign(MIME, world.pki["alice"].cert, world.pki["alice"].key)))
    assert refused.value.expression == "encrypted_mime"


def test_an_ec_recipient_is_recognised_in_an_end_to_end_envelope(world: World) -> None:
    sealed = encrypt(sign(MIME, world.pki["alice"].cert, world.pki["alice"].key), [world.pki["carol"].cert])
    body = world.submit(to=(CAROL,), content=EncryptedByClient(sealed)).body
    assert body["recipients"][0]["status"] == "delivered"


def _signed_about(world: World, *patients: str) -> bytes:
    headers = {"From": ALICE, "To": BOB}
    mime = build_message(MessageContent(subject="Avis", text="Bonjour\n", headers=headers))
    head, _, body = mime.partition(b"\r\n\r\n")
    named = b"".join(b"X-MSS-INS: " + ins.encode() + b"\r\n" for ins in patients)
    return sign(head + b"\r\n" + named.rstrip(b"\r\n") + b"\r\n\r\n" + body,
                world.pki["alice"].cert, world.pki["alice"].key)


def test_a_client_signed_message_about_a_patient_must_name_that_patient_for_routing(world: World) -> None:
    """Else the patient's objection, checked on patient_ins, would not be checked for the patient it is about."""
    with pytest.raises(Unprocessable) as unnamed:
        world.submit(content=SignedByClient(_signed_about(world, INS)))
    with pytest.raises(Unprocessable) as other:
        world.submit(content=SignedByClient(_signed_about(world, INS)), patient_ins=OTHER_INS)
    with pytest.raises(Unprocessable) as two:
        world.submit(content=SignedByClient(_signed_about(world, INS, OTHER_INS)), patient_ins=INS)

    assert unnamed.value.expression == other.value.expression == two.value.expression == "patient_ins"
    assert world.submit(content=SignedByClient(_signed_about(world, INS)), patient_ins=INS).body["id"]


def test_the_objection_of_the_patient_a_client_signed_message_names_stops_it(world: World) -> None:
    world.directory.object(INS)
    with pytest.raises(ExchangeObjection):
        world.submit(content=SignedByClient(_signed_about(world, INS)), patient_ins=INS)


def test_without_trust_anchors_only_the_senders_published_certificate_may_sign(world: World) -> None:
    """Any self-made certificate verifies its own signature: with no anchors to judge it, the signer must
    be the certificate the directory publishes for the sender's mailbox."""
    forger = make_identity(make_ca("Forged CA"), "Alice Forged", email=ALICE)
    with pytest.raises(Unprocessable) as refused:
        world.submit(content=SignedByClient(sign(MIME, forger.cert, forger.key)))
    assert refused.value.expression == "signed_mime"


def test_a_client_signed_message_must_say_who_sends_it() -> None:
    unsigned_from = build_message(MessageContent(subject="Avis", text="x\n", headers={"To": BOB}))
    with pytest.raises(Unprocessable):
        _check_from(_signed_head(unsigned_from), ALICE)
