"""The messaging service over HTTP, against a real broker and database, read back with `openssl cms`."""
from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

import pytest

from services.messaging.crypto.mime import parse_message
from services.shared.pki.cms import decrypt, verify
from tests.integration.messaging.conftest import (
    Platform,
    in_mailbox,
)
from tests.support.messaging_world import ALICE, BOB, CAROL, INACTIVE, OBJECTING_INS, SECRETARIAT
from tests.support.pki import Identity
from tests.support.platform import eventually

pytestmark = pytest.mark.integration
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def message(**changes: object) -> dict[str, object]:
    return {"sender": ALICE, "to": [BOB], "subject": "Compte rendu de consultation", "body": {"text": "Bonjour,\n"},
            "attachments": [{"filename": "cr.pdf", "content_type": "application/pdf",
                             "data": base64.b64encode(PDF).decode()}], **changes}


def openssl(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(["openssl", *map(str, args)], input=stdin, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result


def test_a_message_sent_over_http_is_delivered_and_openssl_decrypts_and_verifies_it(
        platform: Platform, pem_files: Path, tmp_path: Path) -> None:
    with platform.client("alice") as alice, platform.client("bob") as bob:
        accepted = alice.post("/api/v1/messages", json=message(cc=[CAROL]))
        assert accepted.status_code == 202, accepted.text
        message_id = accepted.json()["id"]
        assert accepted.headers["location"].endswith(f"/{message_id}?folder=sent")
        in_mailbox(bob, BOB, message_id)
        stored = bob.get(f"/api/v1/mailboxes/{BOB}/messages/{message_id}").json()
        (tmp_path / "operator.pem").write_bytes(bob.get("/api/v1/messaging/operator-certificates").content)

    (tmp_path / "message.der").write_bytes(base64.b64decode(stored["ciphertext"]))
    openssl("cms", "-decrypt", "-inform", "DER", "-in", tmp_path / "message.der", "-recip", pem_files / "bob.pem",
            "-inkey", pem_files / "bob.key", "-out", tmp_path / "signed.eml")
    verified = openssl("cms", "-verify", "-in", tmp_path / "signed.eml", "-CAfile", tmp_path / "operator.pem")
    assert b"Verification successful" in verified.stderr
    content = parse_message(verified.stdout)
    assert content.subject == "Compte rendu de consultation" and content.attachments[0].data == PDF
    assert stored["content_type"].startswith("application/pkcs7-mime") and stored["mode"] == "platform-signed"


def test_a_message_openssl_signed_and_encrypted_is_routed_end_to_end(
        platform: Platform, pem_files: Path, tmp_path: Path) -> None:
    (tmp_path / "plain.eml").write_bytes(b"From: alice@cabinet.test\r\nTo: bob@cabinet.test\r\nSubject: Avis\r\n"
                                         b"Content-Type: text/plain\r\n\r\nSecret de bout en bout.\r\n")
    openssl("cms", "-sign", "-in", tmp_path / "plain.eml", "-signer", pem_files / "alice.pem", "-inkey",
            pem_files / "alice.key", "-nodetach", "-binary", "-out", tmp_path / "signed.eml")
    sealed = openssl("cms", "-encrypt", "-aes256", "-in", tmp_path / "signed.eml", "-recip", pem_files / "bob.pem",
                     "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256").stdout
    headers = {"Content-Type": "application/pkcs7-mime; smime-type=enveloped-data", "X-Maillage-Sender": ALICE,
               "X-Maillage-To": f"{BOB}, {CAROL}"}
    with platform.client("alice") as alice, platform.client("bob") as bob:
        accepted = alice.post("/api/v1/messages", content=sealed, headers=headers).json()
        in_mailbox(bob, BOB, accepted["id"])
        raw = bob.get(f"/api/v1/mailboxes/{BOB}/messages/{accepted['id']}",
                      headers={"Accept": "application/pkcs7-mime"}).content

    assert {r["address"]: r.get("code") for r in accepted["recipients"]} == \
        {BOB: None, CAROL: "NOT_ENCRYPTED_FOR_RECIPIENT"}
    (tmp_path / "delivered.p7m").write_bytes(raw)
    openssl("cms", "-decrypt", "-in", tmp_path / "delivered.p7m", "-recip", pem_files / "bob.pem", "-inkey",
            pem_files / "bob.key", "-out", tmp_path / "opened.eml")
    verified = openssl("cms", "-verify", "-in", tmp_path / "opened.eml", "-CAfile", pem_files / "ca.pem")
    assert b"Secret de bout en bout." in verified.stdout


def test_unknown_and_inactive_recipients_bounce_with_a_notice_while_others_get_it(
        platform: Platform, pki: dict[str, Identity]) -> None:
    unknown = f"inconnu-{uuid.uuid4().hex[:6]}@nulle-part.test"
    with platform.client("alice") as alice, platform.client("bob") as bob:
        accepted = alice.post("/api/v1/messages", json=message(to=[BOB, unknown, INACTIVE])).json()
        in_mailbox(bob, BOB, accepted["id"])
        statuses = {r["address"]: (r["status"], r.get("code")) for r in accepted["recipients"]}
        assert statuses == {BOB: ("delivered", None), unknown: ("bounced", "UNKNOWN_RECIPIENT"),
                            INACTIVE: ("bounced", "INACTIVE_RECIPIENT")}
        notice_id = _find_notice(alice, accepted["id"], pki["alice"])
        assert notice_id
        sent = alice.get(f"/api/v1/mailboxes/{ALICE}/messages/{accepted['id']}", params={"folder": "sent"}).json()
    assert {r["address"]: r["status"] for r in sent["recipients"]}[BOB] == "delivered"


def _find_notice(alice, original_id: str, identity: Identity) -> str | None:  # type: ignore[no-untyped-def]
    def look() -> str | None:
        for item in alice.get(f"/api/v1/mailboxes/{ALICE}/messages").json()["messages"]:
            if item["in_reply_to"] != original_id:
                continue
            full = alice.get(f"/api/v1/mailboxes/{ALICE}/messages/{item['id']}").json()
            text = parse_message(verify(decrypt(base64.b64decode(full["ciphertext"]), identity.cert,
                                                identity.key)).content).text
            assert "Adresse inconnue de l'annuaire" in text and "désactivée" in text
            return str(item["id"])
        return None
    return eventually(look)  # type: ignore[no-any-return]


def test_a_patients_objection_blocks_the_message_with_its_reason(platform: Platform) -> None:
    with platform.client("alice") as alice:
        before = len(alice.get(f"/api/v1/mailboxes/{ALICE}/messages", params={"folder": "sent", "limit": 200})
                     .json()["messages"])
        refused = alice.post("/api/v1/messages", json=message(patient_ins=OBJECTING_INS))
        after = len(alice.get(f"/api/v1/mailboxes/{ALICE}/messages", params={"folder": "sent", "limit": 200})
                    .json()["messages"])
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["expression"] == "patient_ins" and "opposé" in refused.json()["detail"]
    assert OBJECTING_INS not in refused.text and before == after


def test_a_retry_with_the_same_idempotency_key_counts_once(platform: Platform) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    with platform.client("alice") as alice:
        first = alice.post("/api/v1/messages", json=message(), headers=key)
        again = alice.post("/api/v1/messages", json=message(), headers=key)
        other = alice.post("/api/v1/messages", json=message(subject="Autre"), headers=key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422 and other.json()["expression"] == "Idempotency-Key"


def test_only_the_owners_reach_a_mailbox(platform: Platform) -> None:
    with platform.client("alice") as alice, platform.client("carol") as carol, platform.client("bob") as bob:
        sent = alice.post("/api/v1/messages", json=message(to=[SECRETARIAT])).json()
        assert carol.get(f"/api/v1/mailboxes/{BOB}/messages").status_code == 403
        assert carol.get(f"/api/v1/mailboxes/{BOB}/messages/{sent['id']}").status_code == 403
        assert carol.get("/api/v1/mailboxes/personne@nulle-part.test/messages").status_code == 404
        assert carol.post("/api/v1/messages", json=message()).status_code == 403  # not alice's owner
        for owner in (bob, carol):  # an organisational mailbox, two owners
            assert in_mailbox(owner, SECRETARIAT, sent["id"])
    with platform.client("bob") as bob:
        bob.headers.pop("Authorization")
        assert bob.get(f"/api/v1/mailboxes/{BOB}/messages").status_code == 401


def test_read_marks_delete_and_restore(platform: Platform) -> None:
    with platform.client("alice") as alice, platform.client("bob") as bob:
        sent = alice.post("/api/v1/messages", json=message(read_receipt=True)).json()
        path = f"/api/v1/mailboxes/{BOB}/messages/{sent['id']}"
        in_mailbox(bob, BOB, sent["id"])
        assert bob.post(path + "/read").json()["read"] is True
        assert all(m["id"] != sent["id"] for m in bob.get(f"/api/v1/mailboxes/{BOB}/messages",
                                                          params={"unread": "true"}).json()["messages"])
        assert bob.delete(path).json()["deleted_at"]
        assert bob.post(path + "/restore").json().get("deleted_at") is None
        receipt = in_mailbox(alice, ALICE, _receipt_id(alice, sent["id"]))
    assert receipt["sender"].startswith("ne-pas-repondre@")


def _receipt_id(alice, original_id: str) -> str:  # type: ignore[no-untyped-def]
    def look() -> str | None:
        items = alice.get(f"/api/v1/mailboxes/{ALICE}/messages", params={"limit": 200}).json()["messages"]
        return next((m["id"] for m in items if m["in_reply_to"] == original_id), None)
    return eventually(look)  # type: ignore[no-any-return]


def test_a_fhir_communication_is_sent_like_a_message(platform: Platform) -> None:
    communication = {
        "resourceType": "Communication", "status": "in-progress",
        "sender": {"identifier": {"value": ALICE}}, "recipient": [{"identifier": {"value": BOB}}],
        "topic": {"text": "Sortie d'hospitalisation"}, "priority": "urgent",
        "payload": [{"contentString": "Bonjour,"},
                    {"contentAttachment": {"contentType": "application/pdf", "data": base64.b64encode(PDF).decode(),
                                           "title": "lettre.pdf"}}],
    }
    with platform.client("alice") as alice, platform.client("bob") as bob:
        created = alice.post("/fhir/Communication", json=communication,
                             headers={"Content-Type": "application/fhir+json"})
        assert created.status_code == 202 and created.json()["resourceType"] == "Communication"
        delivered = in_mailbox(bob, BOB, created.json()["id"])
        wrong = alice.post("/fhir/Communication", json={**communication, "recipient": [{"display": "Bob"}]},
                           headers={"Content-Type": "application/fhir+json"})
        bad_type = alice.post("/fhir/Communication", headers={"Content-Type": "application/fhir+json"}, json={
            **communication, "payload": [communication["payload"][0], {"contentAttachment": {
                "contentType": "image/png", "data": "iVBORw0K", "title": "photo.png"}}]})
    assert delivered["priority"] == "urgent"
    assert wrong.status_code == 400 and wrong.json()["issue"][0]["expression"] == ["Communication.recipient[0]"]
    assert bad_type.json()["issue"][0]["expression"] == ["Communication.payload[1].contentAttachment.contentType"]


@pytest.mark.parametrize("changes, status, where", [
    ({"attachments": [{"filename": "x.png", "content_type": "image/png", "data": "iVBORw0K"}]}, 400,
     "attachments[0].content_type"),
    ({"to": [f"p{i}@x.test" for i in range(51)]}, 400, "to"),
    ({"patient_ins": "269054958815781"}, 400, "patient_ins"),
])
def test_bad_input_is_refused_naming_the_field(platform: Platform, changes: dict[str, object], status: int,
                                               where: str) -> None:
    with platform.client("alice") as alice:
        refused = alice.post("/api/v1/messages", json=message(**changes))
    assert (refused.status_code, refused.json()["expression"]) == (status, where)


def test_the_capability_documents_list_the_messaging_routes(platform: Platform) -> None:
    with platform.client("alice") as alice:
        openapi = alice.get("/api/v1/openapi.json").json()
        metadata = alice.get("/fhir/metadata").json()
    assert "/api/v1/mailboxes/{address}/messages/{message_id}/read" in openapi["paths"]
    assert "SendMessage" in openapi["components"]["schemas"]
    resources = {r["type"]: r for r in metadata["rest"][0]["resource"]}
    assert resources["Communication"]["interaction"] == [{"code": "create"}]


def test_twenty_mib_of_attachments_pass_the_edge_base64_included_and_one_byte_more_is_refused(
        platform: Platform) -> None:
    limit = 20 * 1024 * 1024
    pdf = b"%PDF-1.4\n" + b"0" * (limit - 9)
    with platform.client("alice") as alice:
        at_limit = alice.post("/api/v1/messages", json=message(attachments=[
            {"filename": "gros.pdf", "content_type": "application/pdf", "data": base64.b64encode(pdf).decode()}]))
        over = alice.post("/api/v1/messages", json=message(attachments=[
            {"filename": "gros.pdf", "content_type": "application/pdf",
             "data": base64.b64encode(pdf + b"0").decode()}]))
    assert at_limit.status_code == 202, at_limit.text
    assert over.status_code == 413 and over.json()["expression"] == "attachments"
    assert str(limit) in over.json()["detail"]


def test_smime_routing_headers_are_bounded_like_the_json_fields(
        platform: Platform, pem_files: Path, tmp_path: Path) -> None:
    (tmp_path / "plain.eml").write_bytes(b"From: alice@cabinet.test\r\nSubject: Avis\r\n\r\nTexte.\r\n")
    sealed = openssl("cms", "-encrypt", "-aes256", "-in", tmp_path / "plain.eml", "-recip",
                     pem_files / "bob.pem").stdout
    headers = {"Content-Type": "application/pkcs7-mime; smime-type=enveloped-data", "X-Maillage-Sender": ALICE,
               "X-Maillage-To": BOB}
    with platform.client("alice") as alice:
        too_long = alice.post("/api/v1/messages", content=sealed,
                              headers={**headers, "X-Maillage-Thread-Id": "t" * 65})  # the column holds 64
        at_most = alice.post("/api/v1/messages", content=sealed, headers={**headers, "X-Maillage-Thread-Id": "t" * 64})
    assert (too_long.status_code, too_long.json()["expression"]) == (400, "X-Maillage-Thread-Id")
    assert at_most.status_code == 202, at_most.text


FHIR = {"Content-Type": "application/fhir+json"}


def communication(**changes: object) -> dict[str, object]:
    return {"resourceType": "Communication", "status": "in-progress", "sender": {"identifier": {"value": ALICE}},
            "recipient": [{"identifier": {"value": BOB}}], "topic": {"text": "Avis"},
            "payload": [{"contentString": "Bonjour,"}], **changes}


@pytest.mark.parametrize("changes, expression", [  # each was a 500 (TypeError or AttributeError)
    ({"topic": "Avis"}, "Communication.topic"),
    ({"extension": {"url": "x", "valueBoolean": True}}, "Communication.extension"),
    ({"extension": ["read-receipt"]}, "Communication.extension[0]"),
    ({"inResponseTo": [7]}, "Communication.inResponseTo[0]"),
    ({"inResponseTo": {"reference": "Communication/1"}}, "Communication.inResponseTo"),
    ({"subject": {"identifier": "279035121518989"}}, "Communication.subject.identifier"),
])
def test_a_communication_of_the_wrong_shape_is_a_400_naming_the_element(
        platform: Platform, changes: dict[str, object], expression: str) -> None:
    with platform.client("alice") as alice:
        refused = alice.post("/fhir/Communication", json=communication(**changes), headers=FHIR)
    assert refused.status_code == 400, refused.text
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert refused.json()["issue"][0]["expression"] == [expression]


def test_a_body_nested_too_deeply_is_a_400_on_both_send_routes(platform: Platform) -> None:
    nested = b'{"resourceType": "Communication", "note": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with platform.client("alice") as alice:
        for path, content_type in (("/fhir/Communication", "application/fhir+json"),
                                   ("/api/v1/messages", "application/json")):
            refused = alice.post(path, content=nested, headers={"Content-Type": content_type})
            assert refused.status_code == 400, refused.text  # was a 500 (RecursionError in json.loads)


def test_a_communication_names_its_patient_by_ins_and_every_ins_system_meets_the_objection(
        platform: Platform) -> None:
    with platform.client("alice") as alice:
        by_ipp = alice.post("/fhir/Communication", headers=FHIR, json=communication(
            subject={"identifier": {"system": "urn:oid:1.2.250.1.71.4.2.7", "value": "IPP-42"}}))
        by_reference = alice.post("/fhir/Communication", headers=FHIR, json=communication(
            subject={"reference": "Patient/42"}))
        in_about = alice.post("/fhir/Communication", headers=FHIR, json=communication(
            about=[{"reference": "Patient/42"}]))
        objections = [alice.post("/fhir/Communication", headers=FHIR, json=communication(
            subject={"identifier": {"system": system, "value": OBJECTING_INS}}))
            for system in ("urn:oid:1.2.250.1.213.1.4.8", "urn:oid:1.2.250.1.213.1.4.9")]
    assert (by_ipp.status_code, by_ipp.json()["issue"][0]["expression"]) == (
        422, ["Communication.subject.identifier.system"])
    assert (by_reference.status_code, by_reference.json()["issue"][0]["expression"]) == (
        422, ["Communication.subject.reference"])
    assert (in_about.status_code, in_about.json()["issue"][0]["expression"]) == (422, ["Communication.about[0]"])
    for refused in objections:
        assert refused.status_code == 422 and "opposé" in refused.json()["issue"][0]["diagnostics"]
        assert refused.json()["issue"][0]["expression"] == ["Communication.subject.identifier.value"]
        assert OBJECTING_INS not in refused.text


def test_mutated_communications_over_http_never_give_a_5xx(platform: Platform) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.unit.messaging.test_fhir_communication import PATHS, _mutated

    values = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.lists(st.integers(), max_size=2) \
        | st.dictionaries(st.sampled_from(["reference", "value", "url", "text"]), st.integers(), max_size=2)

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(PATHS), value=values)
    def check(path: tuple[object, ...], value: object) -> None:
        resource = _mutated(path, value)
        resource["sender"], resource["recipient"] = {"identifier": {"value": ALICE}}, [{"identifier": {"value": BOB}}]
        answer = alice.post("/fhir/Communication", json=resource, headers=FHIR)
        assert answer.status_code in (202, 400, 403, 413, 422), answer.text[:300]

    with platform.client("alice") as alice:
        check()
