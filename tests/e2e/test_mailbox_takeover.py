"""Address takeover, tried as a professional would on `maillage up`: the platform's own sender and another
professional's mailbox cannot be claimed, nor given a certificate, nor sent from; nor can a lookalike of the
platform's addresses or a role name (a new address is the professional's own name), nor can a certificate name
any address that is not a plain one of its owners'; an enrolment without a certificate holds its account kit,
which arrives once the certificate is published, readable with `openssl cms` (the platform: tests/e2e/conftest.py)."""
from __future__ import annotations

import email
import email.policy
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Platform
from tests.support.pki import make_ca, make_identity
from tests.support.platform import eventually
from tests.unit.directory.directory_world import CAB_BOX, JEANNE, JEANNE_BOX, LUC, PAUL_BOX, enrolment_form

pytestmark = pytest.mark.e2e
PLATFORM_SENDER = "ne-pas-repondre@maillage.mssante.fr"
LUC_BOX = "luc.zylberstein@maillage.mssante.fr"


def problem(answer: httpx.Response, status: int, expression: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["expression"] == expression
    return str(answer.json()["detail"])


def test_the_platform_sender_and_someone_elses_mailbox_cannot_be_taken(imported: Platform) -> None:
    attacker = make_identity(make_ca("Attacker CA"), "Luc as the platform", email=PLATFORM_SENDER).cert_pem.decode()
    with imported.client(rpps=LUC.rpps) as luc:
        for address in (PLATFORM_SENDER, PLATFORM_SENDER.upper(), "ne.pas.repondre+x@maillage.mssante.fr"):
            taken = luc.post("/api/v1/enrolments", json=enrolment_form(LUC, mailbox=address, certificate_pem=attacker))
            assert "reserved" in problem(taken, 403, "mailbox")
        for address in (JEANNE_BOX, CAB_BOX):  # listed by the MSSanté extract for Jeanne (and Paul)
            assert "someone else" in problem(luc.post("/api/v1/enrolments", json=enrolment_form(LUC, mailbox=address)),
                                             409, "mailbox")
        assert "domain the platform operates" in problem(luc.post("/api/v1/enrolments", json=enrolment_form(
            LUC, mailbox="luc@medecin.mssante.fr")), 422, "mailbox")
        published = luc.post("/api/v1/directory/certificates", json={"pem": attacker, "mailbox": PLATFORM_SENDER})
        assert "reserved" in problem(published, 403, "mailbox")
        own_record = luc.post("/api/v1/directory/certificates", json={"pem": attacker})
        assert "reserved" in problem(own_record, 403, "pem")
        sent = luc.post("/api/v1/messages", json={"sender": PLATFORM_SENDER, "to": [JEANNE_BOX],
                                                  "subject": "Avis", "body": {"text": "Bonjour"}})
        assert "directory knows" in problem(sent, 422, "sender")  # no mailbox behind the platform address
        assert luc.get(f"/api/v1/mailboxes/{PLATFORM_SENDER}/messages").status_code in (403, 404)
    with imported.client(rpps=JEANNE.rpps) as jeanne:  # nothing was bound to the platform address meanwhile
        assert jeanne.get("/api/v1/directory/certificates", params={"mailbox": PLATFORM_SENDER}).status_code == 404


# The red team's enrolments that were accepted under the operated domain: lookalikes of the platform's sender,
# role and platform-like names, and another professional's name.
LOOKALIKES = ["ne-pas-repondre1", "ne-pas-reponder", "ne-pas-repondr3", "nepasrepondre0", "ne-pas-repondre-maillage",
              "noreply-maillage", "no-reply-notifications", "maillage-admin", "postmaster1", "abuse-team", "daemon",
              "mdaemon", "bounce", "bounces", "dmarc", "list", "listserv", "owner", "secretariat", "contact", "info",
              "jeanne.martin", "luc.zylberstein123"]


def test_lookalike_and_role_addresses_cannot_be_enrolled_even_by_an_administrator(imported: Platform) -> None:
    """The phishing path: an administrator enrolling maillage-admin@ for someone who then signs "platform" notices."""
    with imported.client(rpps=LUC.rpps) as luc, imported.client(roles=("admin",)) as admin:
        for local in LOOKALIKES:
            for client in (luc, admin):
                answer = client.post("/api/v1/enrolments", json=enrolment_form(
                    LUC, mailbox=f"{local}@maillage.mssante.fr"))
                assert answer.status_code in (403, 422), answer.text
                detail = problem(answer, answer.status_code, "mailbox")
                assert local not in detail
                assert "reserved" in detail or "a dot and your family name" in detail
        taken = luc.get("/fhir/PractitionerRole", params={"mailbox-mss": "maillage-admin@maillage.mssante.fr"})
        assert taken.status_code == 200 and taken.json().get("total", 0) == 0


def test_a_certificate_may_name_only_plain_addresses_of_its_owners(imported: Platform) -> None:
    """Jeanne publishing for her own mailbox a certificate that also names the platform's sender in a form the
    directory did not recognise, Paul's address, or an address nobody holds yet that an administrator might later
    enrol for someone else: each refused, nothing published."""
    ca = make_ca("Jeanne's hostile CA")
    hostile = [('"ne-pas-repondre"@maillage.mssante.fr', 422), ("ne-pas-repondre@maillage.mssante.fr.", 422),
               ("ne-pas-repondre@maillage.mssante.fr\x00.evil.com", 422),
               ("<ne-pas-repondre@maillage.mssante.fr>", 422),
               ("mailto:ne-pas-repondre@maillage.mssante.fr", 422), ('"paul.durand"@medecin.mssante.fr', 422),
               (PAUL_BOX + ".", 422), (PAUL_BOX.replace("a", "\u0430", 1), 422),  # a Cyrillic homograph
               (PAUL_BOX, 409), ("future.victim@maillage.mssante.fr", 409)]
    with imported.client(rpps=JEANNE.rpps) as jeanne:
        for i, (name, status) in enumerate(hostile):
            pem = make_identity(ca, f"Jeanne hostile {i}", email=JEANNE_BOX, more_emails=[name]).cert_pem.decode()
            assert name not in problem(jeanne.post("/api/v1/directory/certificates",
                                                   json={"pem": pem, "mailbox": JEANNE_BOX}), status, "pem")
        as_cn = make_identity(ca, "ne-pas-repondre@maillage.mssante.fr", email=JEANNE_BOX).cert_pem.decode()
        assert "reserved" in problem(jeanne.post("/api/v1/directory/certificates",
                                                 json={"pem": as_cn, "mailbox": JEANNE_BOX}), 403, "pem")
        unnamed = make_identity(ca, "Maillage - administration", email="").cert_pem.decode()
        assert "must name the mailbox" in problem(jeanne.post("/api/v1/directory/certificates",
                                                              json={"pem": unnamed, "mailbox": JEANNE_BOX}), 422, "pem")
        listed = jeanne.get("/api/v1/directory/certificates", params={"mailbox": JEANNE_BOX}).json()["certificates"]
        assert not [c for c in listed if c["subject"].startswith(("CN=Jeanne hostile", "CN=ne-pas", "CN=Maillage"))]


def test_an_enrolment_without_certificate_gets_its_kit_once_the_certificate_is_published(
        imported: Platform, tmp_path: Path) -> None:
    identity = make_identity(make_ca("Luc's CA"), "Luc Zylberstein", email=LUC_BOX)
    identity.write(tmp_path, "luc")
    with imported.client(rpps=LUC.rpps) as luc:
        enrolled = luc.post("/api/v1/enrolments", json=enrolment_form(LUC, mailbox=LUC_BOX))
        assert enrolled.status_code == 201, enrolled.text
        assert enrolled.json()["account_kit_status"] == "held"
        assert luc.get(f"/api/v1/mailboxes/{LUC_BOX}/messages").json()["messages"] == []
        published = luc.post("/api/v1/directory/certificates", json={"pem": identity.cert_pem.decode(),
                                                                     "mailbox": LUC_BOX})
        assert published.status_code == 201, published.text

        kits = eventually(lambda: luc.get(f"/api/v1/mailboxes/{LUC_BOX}/messages").json()["messages"])
        assert len(kits) == 1 and kits[0]["sender"] == PLATFORM_SENDER and kits[0]["mode"] == "platform-signed"
        (tmp_path / "kit.p7m").write_bytes(luc.get(f"/api/v1/mailboxes/{LUC_BOX}/messages/{kits[0]['id']}",
                                                   headers={"Accept": "application/pkcs7-mime"}).content)
        (tmp_path / "operator.pem").write_bytes(luc.get("/api/v1/messaging/operator-certificates").content)
    decrypted = subprocess.run(["openssl", "cms", "-decrypt", "-in", tmp_path / "kit.p7m", "-recip",
                                tmp_path / "luc.pem", "-inkey", tmp_path / "luc.key"], capture_output=True, timeout=60)
    assert decrypted.returncode == 0, decrypted.stderr
    (tmp_path / "signed.eml").write_bytes(decrypted.stdout)
    verified = subprocess.run(["openssl", "cms", "-verify", "-in", tmp_path / "signed.eml", "-CAfile",
                               tmp_path / "operator.pem"], capture_output=True, timeout=60)
    assert verified.returncode == 0, verified.stderr
    kit = email.message_from_bytes(verified.stdout, policy=email.policy.default)
    assert str(kit["Subject"]).startswith("Bienvenue sur Maillage")
    text = next(part for part in kit.walk() if part.get_content_type() == "text/plain").get_content()
    assert LUC_BOX in text and enrolled.json()["id"] in text
