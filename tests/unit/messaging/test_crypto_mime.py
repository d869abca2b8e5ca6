"""The MIME entity of a secure message: built from a typed value, parsed back, MSSanté headers."""

from __future__ import annotations

import io
import zipfile

import pytest

from services.messaging.crypto.mime import Attachment, MessageContent, build_message, parse_message
from services.shared.errors import Invalid

CDA = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>CR</title></ClinicalDocument>\n'
)
PDF = b"%PDF-1.4\n\x00\xff\xfe binary\n%%EOF"
FHIR = b'{"resourceType": "Bundle", "type": "document"}'


def xdm_zip(document: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.TXT", "XDM")
        archive.writestr("INDEX.HTM", "<html></html>")
        archive.writestr("IHE_XDM/SUBSET01/METADATA.XML", "<SubmitObjectsRequest/>")
        archive.writestr("IHE_XDM/SUBSET01/DOC0001.XML", document)
    return buffer.getvalue()


def full_message(**changes: object) -> MessageContent:
    values: dict[str, object] = {
        "subject": "XDM/1.0/DDM+Compte rendu DUPONT Hélène 19800101",
        "text": "Bonjour,\nci-joint le compte rendu (é, ç, €).\n",
        "html": "<p>Bonjour,</p>\n<p>ci-joint le compte rendu (é).</p>\n",
        "attachments": [
            Attachment("cr.pdf", "application/pdf", PDF),
            Attachment("cr.xml", "text/xml", CDA),
            Attachment("bundle.json", "application/fhir+json", FHIR),
            Attachment("IHE_XDM.ZIP", "application/zip", xdm_zip(CDA)),
        ],
        "headers": {
            "From": "alice.martin@hopital.mssante.fr",
            "To": "bob.durand@cabinet.mssante.fr",
            "Message-ID": "<20250101.1@hopital.mssante.fr>",
        },
        "cda_code": "11488-4",
        "receipt_to": "alice.martin@hopital.mssante.fr",
    }
    values.update(changes)
    return MessageContent(**values)  # type: ignore[arg-type]


def test_a_full_message_round_trips() -> None:
    message = full_message()

    assert parse_message(build_message(message)) == message


def test_the_entity_is_crlf_and_seven_bit_so_signing_survives_transport() -> None:
    data = build_message(full_message())

    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(data) < 128
    assert data.startswith(b"MIME-Version: 1.0\r\n")
    assert data.count(b"MIME-Version") == 1


def test_mssante_headers_are_written() -> None:
    data = build_message(full_message())

    assert b"\r\nX-MSS-CODECDA: 11488-4\r\n" in data
    assert b"\r\nDisposition-Notification-To: alice.martin@hopital.mssante.fr\r\n" in data


def test_plain_text_only_is_a_single_part() -> None:
    message = MessageContent(subject="Rappel", text="Rendez-vous demain.\n")
    data = build_message(message)

    assert b"Content-Type: text/plain" in data
    assert b"multipart" not in data
    parsed = parse_message(data)
    assert parsed == message
    assert parsed.cda_code is None and parsed.receipt_to is None


@pytest.mark.parametrize(
    "attachment",
    [
        Attachment("cr.xml", "text/xml", CDA),
        Attachment("cr.xml", "application/hl7-cda+xml", CDA),
        Attachment("IHE_XDM.ZIP", "application/zip", xdm_zip(CDA)),
    ],
    ids=["xml", "cda+xml", "xdm-zip"],
)
def test_a_cda_attachment_requires_the_document_code(attachment: Attachment) -> None:
    message = MessageContent(subject="CR", text="Voir PJ.\n", attachments=[attachment])

    with pytest.raises(Invalid, match="X-MSS-CODECDA") as raised:
        build_message(message)
    assert raised.value.expression == "cda_code"


def test_attachments_that_are_not_cda_need_no_document_code() -> None:
    other_xml = b'<?xml version="1.0"?><Bundle xmlns="http://hl7.org/fhir"/>'
    message = MessageContent(
        subject="Divers",
        text="Voir PJ.\n",
        attachments=[
            Attachment("a.pdf", "application/pdf", PDF),
            Attachment("b.xml", "text/xml", other_xml),
            Attachment("c.zip", "application/zip", xdm_zip(b"<html/>")),
            Attachment("d.xml", "text/xml", b"not xml at all"),
        ],
    )

    assert parse_message(build_message(message)) == message


@pytest.mark.parametrize(
    "headers",
    [{"X-Custom": "a\r\nBcc: eve@example.org"}, {"Bad\nName": "x"}],
    ids=["value", "name"],
)
def test_header_injection_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(Invalid, match="line breaks"):
        build_message(MessageContent(subject="S", text="t\n", headers=headers))


def test_structural_headers_cannot_be_overridden() -> None:
    headers = {"Content-Type": "text/html", "X-MSS-CODECDA": "1"}

    with pytest.raises(Invalid, match="Content-Type, X-MSS-CODECDA"):
        build_message(MessageContent(subject="S", text="t\n", headers=headers))


def test_a_media_type_without_subtype_is_refused() -> None:
    message = MessageContent(subject="S", text="t\n", attachments=[Attachment("a", "pdf", PDF)])

    with pytest.raises(Invalid, match="type/subtype"):
        build_message(message)


def test_non_ascii_filenames_survive() -> None:
    attachment = Attachment("compte rendu é.pdf", "application/pdf", PDF)
    message = MessageContent(subject="S", text="t\n", attachments=[attachment])

    assert parse_message(build_message(message)).attachments == (attachment,)
