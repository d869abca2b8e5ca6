"""Interoperability with the ``openssl cms`` command, both ways, through real subprocesses."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from services.messaging.crypto.mime import Attachment, MessageContent, build_message
from services.shared.pki.cms import encrypt, open_sealed, seal, sign
from services.shared.pki.errors import BadSignature, NotForRecipient, Undecryptable
from tests.support.pki import Identity

CDA = b'<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"/>\n'
MIME = build_message(
    MessageContent(
        subject="XDM/1.0/DDM+Compte rendu DUPONT Jeanne 19800101",
        text="Bonjour,\nci-joint le compte rendu.\n",
        html="<p>Bonjour,</p>\n",
        attachments=[
            Attachment("cr.pdf", "application/pdf", b"%PDF-1.4\n\x00\xff%%EOF"),
            Attachment("cr.xml", "text/xml", CDA),
        ],
        headers={"From": "alice.martin@hopital.mssante.fr", "To": "bob.durand@cabinet.mssante.fr"},
        cda_code="11488-4",
        receipt_to="alice.martin@hopital.mssante.fr",
    )
)
OpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]
OAEP_SHA256 = ("-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256")


@pytest.mark.parametrize("recipient", ["bob", "carol"])
@pytest.mark.parametrize("detached", [False, True], ids=["opaque", "detached"])
def test_openssl_decrypts_and_verifies_what_seal_produces(
    pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL, recipient: str, detached: bool
) -> None:
    recipients = [pki["bob"].cert, pki["carol"].cert]
    sealed = seal(MIME, pki["alice"].cert, pki["alice"].key, recipients, detached=detached)
    (pem_dir / "sealed.eml").write_bytes(sealed)

    openssl(
        "cms", "-decrypt", "-in", pem_dir / "sealed.eml", "-out", pem_dir / "signed.eml",
        "-recip", pem_dir / f"{recipient}.pem", "-inkey", pem_dir / f"{recipient}.key",
    )  # fmt: skip
    verified = openssl(
        "cms", "-verify", "-in", pem_dir / "signed.eml", "-CAfile", pem_dir / "ca.pem",
        "-signer", pem_dir / "signer.pem",
    )  # fmt: skip

    assert verified.stdout == MIME
    assert b"CMS Verification successful" in verified.stderr
    assert (pem_dir / "signer.pem").read_bytes() == pki["alice"].cert_pem


def test_openssl_sees_oaep_sha256_and_aes256_cbc(
    pki: dict[str, Identity], openssl: OpenSSL
) -> None:
    enveloped = encrypt(MIME, [pki["bob"].cert], form="der")

    printed = openssl("cms", "-cmsout", "-print", "-inform", "DER", stdin=enveloped).stdout

    assert b"rsaesOaep" in printed
    assert printed.count(b"sha256") >= 2  # the OAEP hash and the MGF1 hash
    assert b"aes-256-cbc" in printed


@pytest.mark.parametrize("padding", [OAEP_SHA256, ()], ids=["rsa-oaep-sha256", "rsa-pkcs1v15"])
@pytest.mark.parametrize("sign_options", [(), ("-nodetach",)], ids=["detached", "opaque"])
def test_open_sealed_reads_what_openssl_signed_and_encrypted(
    pki: dict[str, Identity],
    pem_dir: Path,
    openssl: OpenSSL,
    padding: tuple[str, ...],
    sign_options: tuple[str, ...],
) -> None:
    (pem_dir / "message.eml").write_bytes(MIME)
    openssl(
        "cms", "-sign", *sign_options, "-in", pem_dir / "message.eml", "-out", pem_dir / "signed.eml",
        "-signer", pem_dir / "alice.pem", "-inkey", pem_dir / "alice.key",
    )  # fmt: skip
    openssl(
        "cms", "-encrypt", "-aes256", "-in", pem_dir / "signed.eml", "-out", pem_dir / "sealed.eml",
        "-recip", pem_dir / "bob.pem", *padding,
    )  # fmt: skip

    opened = open_sealed(
        (pem_dir / "sealed.eml").read_bytes(), pki["bob"].cert, pki["bob"].key, [pki["ca"].cert]
    )

    assert opened.content == MIME
    assert opened.signer_cert == pki["alice"].cert


@pytest.mark.parametrize(
    "kdf", [(), ("-keyopt", "ecdh_kdf_md:sha256")], ids=["sha1-kdf", "sha256-kdf"]
)
def test_open_sealed_reads_openssl_ecdh_messages(
    pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL, kdf: tuple[str, ...]
) -> None:
    signed = openssl(
        "cms", "-sign", "-signer", pem_dir / "carol.pem", "-inkey", pem_dir / "carol.key",
        stdin=MIME,
    ).stdout  # fmt: skip
    sealed = openssl(
        "cms", "-encrypt", "-aes256", "-recip", pem_dir / "carol.pem", *kdf, stdin=signed
    ).stdout

    opened = open_sealed(sealed, pki["carol"].cert, pki["carol"].key, [pki["ca"].cert])

    assert opened.content == MIME
    assert opened.signer_cert == pki["carol"].cert


def test_each_recipient_of_an_openssl_message_opens_it(
    pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL
) -> None:
    signed = openssl(
        "cms", "-sign", "-signer", pem_dir / "alice.pem", "-inkey", pem_dir / "alice.key",
        stdin=MIME,
    ).stdout  # fmt: skip
    sealed = openssl(
        "cms", "-encrypt", "-aes256",
        "-recip", pem_dir / "bob.pem", *OAEP_SHA256,
        "-recip", pem_dir / "dave.pem",
        "-recip", pem_dir / "carol.pem",
        stdin=signed,
    ).stdout  # fmt: skip

    for name in ("bob", "dave", "carol"):
        opened = open_sealed(sealed, pki[name].cert, pki[name].key, [pki["ca"].cert])
        assert opened.content == MIME
    with pytest.raises(NotForRecipient, match="not encrypted for this certificate"):
        open_sealed(sealed, pki["alice"].cert, pki["alice"].key)


def test_openssl_message_for_bob_cannot_be_opened_by_dave(
    pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL
) -> None:
    sealed = openssl(
        "cms", "-encrypt", "-aes256", "-recip", pem_dir / "bob.pem", *OAEP_SHA256, stdin=MIME
    ).stdout

    with pytest.raises(NotForRecipient):
        open_sealed(sealed, pki["dave"].cert, pki["dave"].key)


def test_content_altered_after_openssl_signed_it_is_detected(
    pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL
) -> None:
    signed = openssl(
        "cms", "-sign", "-signer", pem_dir / "alice.pem", "-inkey", pem_dir / "alice.key",
        stdin=MIME,
    ).stdout  # fmt: skip
    tampered = signed.replace(b"DUPONT Jeanne", b"DUPONT Jeannette")
    assert tampered != signed
    sealed = openssl(
        "cms", "-encrypt", "-aes256", "-recip", pem_dir / "bob.pem", stdin=tampered
    ).stdout

    with pytest.raises(BadSignature, match="altered after signing"):
        open_sealed(sealed, pki["bob"].cert, pki["bob"].key, [pki["ca"].cert])


def test_openssl_ciphertext_altered_is_detected(
    pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL
) -> None:
    signed = openssl(
        "cms", "-sign", "-nodetach", "-signer", pem_dir / "alice.pem", "-inkey", pem_dir / "alice.key",
        stdin=MIME,
    ).stdout  # fmt: skip
    sealed = openssl(
        "cms", "-encrypt", "-aes256", "-outform", "DER", "-recip", pem_dir / "bob.pem", *OAEP_SHA256,
        stdin=signed,
    ).stdout  # fmt: skip
    # The encrypted content is the tail of the DER; a byte well inside it belongs to it.
    index = len(sealed) - len(signed) // 2
    tampered = sealed[:index] + bytes([sealed[index] ^ 0x20]) + sealed[index + 1 :]

    with pytest.raises((BadSignature, Undecryptable)):
        open_sealed(tampered, pki["bob"].cert, pki["bob"].key, [pki["ca"].cert])


def test_openssl_rejects_what_we_signed_once_altered(
    pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL
) -> None:
    signed = sign(MIME, pki["alice"].cert, pki["alice"].key, detached=True)
    (pem_dir / "tampered.eml").write_bytes(signed.replace(b"DUPONT Jeanne", b"DUPONT Jeannette"))

    result = openssl(
        "cms", "-verify", "-in", pem_dir / "tampered.eml", "-CAfile", pem_dir / "ca.pem", ok=False
    )

    assert result.returncode != 0
    assert b"Verification failure" in result.stderr


def test_subject_key_identifiers_and_pem_output_are_understood(
    pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL
) -> None:
    # -keyid names signer and recipients by subjectKeyIdentifier instead of issuer and serial.
    signed = openssl(
        "cms", "-sign", "-keyid", "-signer", pem_dir / "alice.pem", "-inkey", pem_dir / "alice.key",
        stdin=MIME,
    ).stdout  # fmt: skip
    sealed = openssl(
        "cms", "-encrypt", "-aes256", "-keyid", "-outform", "PEM",
        "-recip", pem_dir / "bob.pem", *OAEP_SHA256, "-recip", pem_dir / "carol.pem",
        stdin=signed,
    ).stdout  # fmt: skip
    assert sealed.startswith(b"-----BEGIN CMS-----")

    for name in ("bob", "carol"):
        opened = open_sealed(sealed, pki[name].cert, pki[name].key, [pki["ca"].cert])
        assert (opened.content, opened.signer_cert) == (MIME, pki["alice"].cert)
