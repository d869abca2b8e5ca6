"""The submission path's lean MIME writer and DER envelope read exactly like the reference builders."""
from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import cms

from services.messaging.crypto.mime import Attachment, MessageContent, build_message, parse_message
from services.messaging.crypto.mime_writer import write_message
from services.shared.pki import envelope_der, enveloping
from services.shared.pki.cms import decrypt
from services.shared.pki.envelope_der import encrypt_der
from tests.support.pki import Identity

CDA = b'<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"/>\n'
OpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]
CONTENTS = [
    MessageContent(subject="Avis", text="Bonjour"),
    MessageContent(
        subject="Compte rendu DUPONT Jeanne — un sujet accentué plus long que soixante-dix-huit caractères",
        text="Ligne é\n" + "x" * 300 + "\n  espaces en fin  \n", html="<p>é</p>",
        headers={"From": "a@b.fr", "To": ", ".join(f"p{i}@cabinet.mssante.fr" for i in range(50))},
        attachments=[Attachment("cr é.pdf", "application/pdf", b"%PDF-1.4\x00\xff" * 500),
                     Attachment('a"b.xml', "text/xml", CDA)],
        cda_code="11488-4", receipt_to="a@b.fr"),
    MessageContent(subject="=_Part_ =?utf-8?q?x?=", text="a=b\r\nc\td\n.\nFrom x\n",
                   attachments=[Attachment("p.json", "application/fhir+json", b'{"resourceType":"Patient"}')]),
]


@pytest.mark.parametrize("content", CONTENTS, ids=["text", "everything", "tricky"])
def test_the_lean_writer_parses_back_like_the_reference_builder(content: MessageContent) -> None:
    written = write_message(content)
    assert parse_message(written) == parse_message(build_message(content))
    assert all(len(line) <= 998 for line in written.split(b"\r\n")) and written.isascii()
    assert b"\n" not in written.replace(b"\r\n", b"")


def test_the_lean_writer_keeps_the_cda_rule() -> None:
    with pytest.raises(Exception, match="X-MSS-CODECDA"):
        write_message(MessageContent(subject="s", text="t", attachments=[Attachment("c.xml", "text/xml", CDA)]))


def test_the_der_envelope_matches_asn1crypto_byte_for_byte_but_the_random_key_wraps(
        pki: dict[str, Identity], monkeypatch: pytest.MonkeyPatch) -> None:
    content, certs = b"x" * 1000, [pki["bob"].cert, pki["dave"].cert]

    def fixed_random(module: object) -> None:
        values = [b"k" * 32, b"i" * 16]
        monkeypatch.setattr(module, "os", type("os", (), {"urandom": staticmethod(lambda n: values.pop(0))}))

    fixed_random(enveloping)
    reference = cms.ContentInfo.load(enveloping.encrypt(content, certs, form="der"))
    fixed_random(envelope_der)
    fast = cms.ContentInfo.load(encrypt_der(content, certs))
    for info in (reference, fast):
        for recipient in info["content"]["recipient_infos"]:
            recipient.chosen["encrypted_key"] = b""  # RSA-OAEP is randomised
    assert fast.dump(force=True) == reference.dump(force=True)


@pytest.mark.parametrize("reader", ["bob", "carol"])
def test_openssl_decrypts_the_der_envelope(pki: dict[str, Identity], pem_dir: Path, openssl: OpenSSL,
                                           reader: str) -> None:
    (pem_dir / "sealed.der").write_bytes(encrypt_der(b"contenu", [pki["bob"].cert, pki["carol"].cert]))
    opened = openssl("cms", "-decrypt", "-inform", "DER", "-in", pem_dir / "sealed.der",
                     "-recip", pem_dir / f"{reader}.pem", "-inkey", pem_dir / f"{reader}.key")
    assert opened.stdout == b"contenu"
    assert decrypt((pem_dir / "sealed.der").read_bytes(), pki[reader].cert, pki[reader].key) == b"contenu"


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_the_lean_signer_is_read_by_openssl_and_by_our_verifier(kind: str, pki: dict[str, Identity],
                                                               openssl: OpenSSL, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from services.shared.pki.signed_der import Signer
    from services.shared.pki.verification import verify
    from tests.support.pki import make_identity

    identity = make_identity(pki["ca"], f"Operateur {kind}", kind=kind)
    content = write_message(CONTENTS[1])
    signer = Signer(identity.cert, identity.key)

    verified = verify(signer.sign(content), [pki["ca"].cert])
    assert verified.content == content and verified.signer_cert == identity.cert
    later = cms.ContentInfo.load(signer.signed_der(content, datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC)))
    [attributes] = [info["signed_attrs"].native for info in later["content"]["signer_infos"]]
    assert [a["values"][0] for a in attributes if a["type"] == "signing_time"] == [
        datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC)]  # GeneralizedTime from 2050

    (tmp_path / "signed.p7m").write_bytes(signer.sign(content))
    pki["ca"].write(tmp_path, "ca")
    openssl("cms", "-verify", "-in", tmp_path / "signed.p7m", "-CAfile", tmp_path / "ca.pem",
            "-binary", "-out", tmp_path / "content.eml")
    assert (tmp_path / "content.eml").read_bytes() == content


def test_the_quoted_printable_shortcut_writes_what_b2a_qp_writes() -> None:
    import binascii
    import random

    from services.messaging.crypto.mime_writer import quoted_printable

    def reference(data: bytes) -> bytes:
        return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")

    pieces = [b"a", b"Z", b"-", b" ", b".", b"\n", b"=", b"\t", b"\r", "é".encode()]
    rng = random.Random(20261123)
    samples = [c * size + b"\n" for size in range(0, 320) for c in (b"x", b".", b" ")]
    samples += [(("Compte rendu de consultation. " * 400)[:10_000] + "\n").encode()]
    for trial in range(20_000):
        weights = [30, 30, 3, 5, 1, 2, 0.2, 0.1, 0.05, 0.1] if trial % 2 else [30, 30, 3, 2, 0.5, 1, 0, 0, 0, 0]
        size = rng.choice([1, 5, 74, 75, 76, 77, 150, 151, 152, 153, 226, 227, 400])
        samples.append(b"".join(rng.choices(pieces, weights, k=size)) + b"\n")
    for data in samples:
        assert quoted_printable(data) == reference(data), data


def test_base64_lines_are_encodebytes_with_crlf() -> None:
    import base64
    import os

    from services.shared.pki.smime import base64_lines

    for size in [*range(0, 240), 1_000, 11_000, 140_000]:
        data = os.urandom(size)
        assert base64_lines(data) == base64.encodebytes(data).replace(b"\n", b"\r\n")
