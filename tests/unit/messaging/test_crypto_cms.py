"""CMS sign/verify, encrypt/decrypt and seal/open_sealed, within the library (no openssl)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms as asn1_cms

from services.messaging.crypto.mime import MessageContent, build_message
from services.shared.errors import Invalid
from services.shared.pki.cms import decrypt, encrypt, open_sealed, seal, sign, verify
from services.shared.pki.errors import (
    BadSignature,
    MalformedMessage,
    NotForRecipient,
    Undecryptable,
    UntrustedSigner,
)
from services.shared.pki.smime import unwrap, wrap_pkcs7_mime
from tests.support.pki import Identity

SECRET = "INS 279035121518989 DUPONT Jeanne"
CONTENT = build_message(MessageContent(subject="CR", text=f"Patient {SECRET}\n"))


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def with_ciphertext(enveloped: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The same EnvelopedData (as S/MIME) with its encrypted content changed."""
    info = asn1_cms.ContentInfo.load(unwrap(enveloped).der)
    content_info = info["content"]["encrypted_content_info"]
    content_info["encrypted_content"] = change(content_info["encrypted_content"].native)
    return wrap_pkcs7_mime(info.dump(force=True), "enveloped-data")


@pytest.mark.parametrize("signer", ["alice", "carol"])
@pytest.mark.parametrize("detached", [False, True], ids=["opaque", "detached"])
def test_sign_then_verify_gives_back_the_content_and_signer(
    pki: dict[str, Identity], signer: str, detached: bool
) -> None:
    identity = pki[signer]
    signed = sign(CONTENT, identity.cert, identity.key, detached=detached)

    verified = verify(signed, [pki["ca"].cert])

    assert verified.content == CONTENT
    assert verified.signer_cert == identity.cert
    expected = b"multipart/signed" if detached else b"smime-type=signed-data"
    assert expected in signed.split(b"\r\n\r\n", 1)[0]


def test_verify_without_trust_list_checks_integrity_only(pki: dict[str, Identity]) -> None:
    signed = sign(CONTENT, pki["alice"].cert, pki["alice"].key)

    assert verify(signed, None).signer_cert == pki["alice"].cert


def test_a_signer_outside_the_trusted_authorities_is_refused(pki: dict[str, Identity]) -> None:
    signed = sign(CONTENT, pki["alice"].cert, pki["alice"].key)

    with pytest.raises(UntrustedSigner, match="does not chain to a trusted authority"):
        verify(signed, [pki["rogue_ca"].cert])


def test_pinning_the_signer_certificate_itself_is_trusted(pki: dict[str, Identity]) -> None:
    signed = sign(CONTENT, pki["alice"].cert, pki["alice"].key)

    assert verify(signed, [pki["alice"].cert]).content == CONTENT


def test_a_signer_certificate_outside_its_validity_is_refused(pki: dict[str, Identity]) -> None:
    signed = sign(CONTENT, pki["alice"].cert, pki["alice"].key)
    later = datetime.now(UTC) + timedelta(days=800)

    with pytest.raises(UntrustedSigner, match="not valid at the time"):
        verify(signed, [pki["ca"].cert], at=later)


def test_altered_opaque_content_is_detected(pki: dict[str, Identity]) -> None:
    signed = sign(CONTENT, pki["alice"].cert, pki["alice"].key)
    der = unwrap(signed).der
    at = der.index(SECRET.encode())
    tampered = wrap_pkcs7_mime(flip(der, at), "signed-data")

    with pytest.raises(BadSignature, match="altered after signing") as raised:
        verify(tampered, [pki["ca"].cert])
    assert SECRET not in str(raised.value)


def test_altered_detached_content_is_detected(pki: dict[str, Identity]) -> None:
    signed = sign(CONTENT, pki["alice"].cert, pki["alice"].key, detached=True)
    tampered = signed.replace(b"DUPONT", b"DUPOND")

    with pytest.raises(BadSignature, match="altered after signing"):
        verify(tampered, [pki["ca"].cert])


def test_an_altered_signature_value_is_detected(pki: dict[str, Identity]) -> None:
    signed = sign(CONTENT, pki["alice"].cert, pki["alice"].key)
    info = asn1_cms.ContentInfo.load(unwrap(signed).der)
    signer_info = info["content"]["signer_infos"][0]
    signer_info["signature"] = flip(signer_info["signature"].native, 10)
    tampered = wrap_pkcs7_mime(info.dump(force=True), "signed-data")

    with pytest.raises(BadSignature, match="does not verify"):
        verify(tampered, [pki["ca"].cert])


def test_signing_with_a_key_of_another_certificate_is_refused(pki: dict[str, Identity]) -> None:
    with pytest.raises(Invalid, match="does not belong"):
        sign(CONTENT, pki["alice"].cert, pki["bob"].key)


@pytest.mark.parametrize("form", ["smime", "der", "pem"])
@pytest.mark.parametrize("recipient", ["bob", "carol"])
def test_encrypt_then_decrypt(pki: dict[str, Identity], form: str, recipient: str) -> None:
    identity = pki[recipient]
    enveloped = encrypt(CONTENT, [identity.cert], form=form)  # type: ignore[arg-type]

    assert SECRET.encode() not in enveloped
    assert decrypt(enveloped, identity.cert, identity.key) == CONTENT


def test_rsa_recipients_get_oaep_sha256_and_content_aes256_cbc(pki: dict[str, Identity]) -> None:
    envelope = asn1_cms.ContentInfo.load(unwrap(encrypt(CONTENT, [pki["bob"].cert])).der)["content"]
    ktri = envelope["recipient_infos"][0].chosen
    algorithm = ktri["key_encryption_algorithm"]

    assert algorithm["algorithm"].dotted == "1.2.840.113549.1.1.7"  # id-RSAES-OAEP
    assert algorithm["parameters"]["hash_algorithm"]["algorithm"].native == "sha256"
    mgf = algorithm["parameters"]["mask_gen_algorithm"]
    assert (mgf["algorithm"].native, mgf["parameters"]["algorithm"].native) == ("mgf1", "sha256")
    cipher = envelope["encrypted_content_info"]["content_encryption_algorithm"]
    assert cipher["algorithm"].native == "aes256_cbc"


def test_every_recipient_decrypts_independently(pki: dict[str, Identity]) -> None:
    recipients = [pki["bob"], pki["carol"], pki["alice"]]
    sealed = seal(CONTENT, pki["alice"].cert, pki["alice"].key, [r.cert for r in recipients])

    for recipient in recipients:
        opened = open_sealed(sealed, recipient.cert, recipient.key, [pki["ca"].cert])
        assert opened.content == CONTENT
        assert opened.signer_cert == pki["alice"].cert


@pytest.mark.parametrize("detached", [False, True], ids=["opaque", "detached"])
def test_seal_with_ec_sender_and_recipient(pki: dict[str, Identity], detached: bool) -> None:
    carol = pki["carol"]
    sealed = seal(CONTENT, carol.cert, carol.key, [carol.cert], detached=detached)

    assert open_sealed(sealed, carol.cert, carol.key, [pki["ca"].cert]).content == CONTENT


def test_a_message_for_someone_else_cannot_be_opened(pki: dict[str, Identity]) -> None:
    sealed = seal(
        CONTENT, pki["alice"].cert, pki["alice"].key, [pki["bob"].cert, pki["carol"].cert]
    )

    with pytest.raises(NotForRecipient, match="not encrypted for this certificate"):
        open_sealed(sealed, pki["dave"].cert, pki["dave"].key)


def test_a_key_that_does_not_match_the_certificate_is_refused(pki: dict[str, Identity]) -> None:
    sealed = seal(CONTENT, pki["alice"].cert, pki["alice"].key, [pki["bob"].cert])

    with pytest.raises(Invalid, match="does not belong to the certificate"):
        open_sealed(sealed, pki["bob"].cert, pki["dave"].key)


def test_altered_ciphertext_fails_the_signature(pki: dict[str, Identity]) -> None:
    sealed = seal(CONTENT, pki["alice"].cert, pki["alice"].key, [pki["bob"].cert])
    # CBC garbles the block holding the flipped byte and flips one byte of the next;
    # the padding at the end stays valid, so it is the signature that must catch it.
    tampered = with_ciphertext(sealed, lambda c: flip(c, len(c) // 2))

    with pytest.raises(BadSignature) as raised:
        open_sealed(tampered, pki["bob"].cert, pki["bob"].key, [pki["ca"].cert])
    assert SECRET not in str(raised.value)


def test_altered_ciphertext_end_fails_the_decryption(pki: dict[str, Identity]) -> None:
    sealed = seal(CONTENT, pki["alice"].cert, pki["alice"].key, [pki["bob"].cert])
    # Flipping the last byte of the next-to-last block turns the padding length byte
    # into one above 16: the padding check must fail, whatever the key.
    tampered = with_ciphertext(sealed, lambda c: flip(c, len(c) - 17, 0xFF))

    with pytest.raises(Undecryptable, match="could not be decrypted"):
        open_sealed(tampered, pki["bob"].cert, pki["bob"].key)


def test_an_altered_wrapped_key_is_detected(pki: dict[str, Identity]) -> None:
    enveloped = encrypt(CONTENT, [pki["bob"].cert])
    info = asn1_cms.ContentInfo.load(unwrap(enveloped).der)
    ktri = info["content"]["recipient_infos"][0].chosen
    ktri["encrypted_key"] = flip(ktri["encrypted_key"].native, 5)
    tampered = info.dump(force=True)

    with pytest.raises(Undecryptable, match="could not be decrypted"):
        decrypt(tampered, pki["bob"].cert, pki["bob"].key)


@pytest.mark.parametrize(
    "garbage", [b"", b"hello", b"\x30\x03\x02\x01", b"-----BEGIN CMS-----\n!!\n"]
)
def test_garbage_is_reported_as_malformed(pki: dict[str, Identity], garbage: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decrypt(garbage, pki["bob"].cert, pki["bob"].key)
    with pytest.raises(MalformedMessage):
        verify(garbage, None)


def test_an_unsigned_message_inside_the_envelope_is_refused(pki: dict[str, Identity]) -> None:
    enveloped = encrypt(CONTENT, [pki["bob"].cert])

    with pytest.raises(BadSignature, match="never signed"):
        open_sealed(enveloped, pki["bob"].cert, pki["bob"].key)


def test_encrypting_needs_a_recipient() -> None:
    with pytest.raises(Invalid, match="At least one recipient"):
        encrypt(CONTENT, [])


def test_no_content_reaches_logs_or_errors(
    pki: dict[str, Identity], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sealed = seal(CONTENT, pki["alice"].cert, pki["alice"].key, [pki["bob"].cert])
    errors: list[Exception] = []
    for attempt in (
        lambda: open_sealed(sealed, pki["dave"].cert, pki["dave"].key),
        lambda: open_sealed(  # cut short: always refused (a flipped bit in CBC can leave a DER that parses)
            with_ciphertext(sealed, lambda c: c[:-1]), pki["bob"].cert, pki["bob"].key
        ),
        lambda: verify(
            sign(CONTENT, pki["alice"].cert, pki["alice"].key).replace(b"A", b"B"), None
        ),
    ):
        with pytest.raises(Exception) as raised:
            attempt()
        errors.append(raised.value)

    assert all(SECRET not in str(error) and SECRET not in repr(error.args) for error in errors)
    assert SECRET not in caplog.text
