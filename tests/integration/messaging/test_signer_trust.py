"""Client-signed messages over HTTP, with trust anchors and a CRL file configured: the signer's certificate must be
for e-mail protection, chain to an anchor, and be revoked neither by a CRL nor by the directory."""
from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from nameko.runners import ServiceRunner

from services.directory.service import DirectoryService
from services.messaging.service import MessagingService
from services.shared.auth import DevIssuer
from services.shared.db.migrations import upgrade
from services.shared.nameko_ext.config import container_config
from services.shared.pki.signing import sign
from services.shared.settings import Settings
from tests.support.broker import isolated_vhost
from tests.support.databases import backends, new_database, remove_database
from tests.support.messaging_world import ALICE, BOB, RPPS, seed_directory
from tests.support.pki import Identity, make_crl, make_identity
from tests.support.platform import eventually, free_port

pytestmark = pytest.mark.integration
MIME = (f"From: {ALICE}\r\nTo: {BOB}\r\nSubject: Suivi\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Bonjour.\r\n").encode()


@pytest.fixture(scope="module")
def signers(pki: dict[str, Identity]) -> dict[str, Identity]:
    return {"no_eku": make_identity(pki["ca"], "Alice Sans Usage", email=ALICE, extended_key_usage=None),
            "crl_revoked": make_identity(pki["ca"], "Alice Revoquee", email=ALICE)}


@pytest.fixture(scope="module", params=backends())
def base_url(request: pytest.FixtureRequest, pki: dict[str, Identity], signers: dict[str, Identity],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DevIssuer]]:
    var_dir = tmp_path_factory.mktemp("var")
    anchors, crl = var_dir / "anchors.pem", var_dir / "ca.crl.pem"
    anchors.write_bytes(pki["ca"].cert_pem)
    crl.write_bytes(make_crl(pki["ca"], [signers["crl_revoked"].cert]).public_bytes(serialization.Encoding.PEM))
    url = new_database(str(request.param), var_dir, "messaging")
    upgrade("messaging", url)
    directory_url = new_database(str(request.param), var_dir, "directory")
    seed_directory(directory_url, var_dir, pki)
    port, before = free_port(), os.environ.get("MAILLAGE_MESSAGING_TRUST_ANCHORS")
    os.environ["MAILLAGE_MESSAGING_TRUST_ANCHORS"] = str(anchors)  # messaging's own settings come from the environment
    with isolated_vhost("maillage-test-signer-trust") as vhost:
        settings = Settings(environment="test", amqp_uri=vhost, var_dir=var_dir, http_address=f"127.0.0.1:{port}",
                            service_database_urls={"messaging": url, "directory": directory_url},
                            pki_crl_files=(crl,))
        runner = ServiceRunner(container_config(settings))
        runner.add_service(MessagingService)
        runner.add_service(DirectoryService)
        try:
            runner.start()
            yield f"http://127.0.0.1:{port}", DevIssuer(var_dir)
        finally:
            runner.kill()
            if before is None:
                os.environ.pop("MAILLAGE_MESSAGING_TRUST_ANCHORS", None)
            else:
                os.environ["MAILLAGE_MESSAGING_TRUST_ANCHORS"] = before
            remove_database(url)
            remove_database(directory_url)


def _send(base: tuple[str, DevIssuer], signer: Identity) -> httpx.Response:
    url, issuer = base
    signed = sign(MIME, signer.cert, signer.key)
    with httpx.Client(base_url=url, timeout=30,
                      headers={"Authorization": f"Bearer {issuer.mint(rpps=RPPS['alice'])}"}) as alice:
        return alice.post("/api/v1/messages", json={"sender": ALICE, "to": [BOB],
                                                    "signed_mime": base64.b64encode(signed).decode()})


def _refusal(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert problem["expression"] == "signed_mime"
    return problem


def test_a_signer_from_the_trusted_authority_is_accepted(base_url: tuple[str, DevIssuer],
                                                         pki: dict[str, Identity]) -> None:
    answer = _send(base_url, pki["alice"])
    assert answer.status_code == 202, answer.text


def test_a_signer_without_e_mail_protection_is_refused(base_url: tuple[str, DevIssuer],
                                                       signers: dict[str, Identity]) -> None:
    assert _refusal(_send(base_url, signers["no_eku"]))["detail"] == (
        "The signer's certificate's extended key usage does not include e-mail protection, "
        "which secure messaging requires.")


def test_a_signer_listed_in_the_configured_crl_is_refused(base_url: tuple[str, DevIssuer],
                                                          signers: dict[str, Identity]) -> None:
    assert _refusal(_send(base_url, signers["crl_revoked"]))["detail"] == (
        "The signer's certificate was revoked by its authority (CRL).")


def test_a_signer_whose_certificate_the_directory_revoked_is_refused(base_url: tuple[str, DevIssuer],
                                                                     pki: dict[str, Identity]) -> None:
    url, issuer = base_url
    erin = pki["erin"]  # the certificate of dave's mailbox revocation@cabinet.test
    assert _send(base_url, erin).status_code == 202  # any certificate of the authority may sign, until revoked
    fingerprint = hashlib.sha256(erin.cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    with httpx.Client(base_url=url, timeout=30,
                      headers={"Authorization": f"Bearer {issuer.mint(rpps=RPPS['dave'])}"}) as dave:
        assert dave.post(f"/api/v1/directory/certificates/{fingerprint}/revoke").status_code == 200
    answer = eventually(lambda: (sent := _send(base_url, erin)).status_code == 422 and sent)  # certificate.revoked
    assert _refusal(answer)["detail"] == "The signer's certificate was revoked in the directory."
