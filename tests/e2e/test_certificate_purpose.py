"""Over HTTP against `maillage up`: a certificate not meant for e-mail protection is refused at publication."""
from __future__ import annotations

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.e2e.conftest import Platform
from tests.support.pki import make_ca, make_identity
from tests.unit.directory.directory_world import JEANNE, JEANNE_BOX

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("purposes", [None, (ExtendedKeyUsageOID.SERVER_AUTH,)], ids=["no EKU", "TLS server only"])
def test_a_certificate_without_e_mail_protection_is_a_422_naming_pem(
        imported: Platform, purposes: tuple[ExtendedKeyUsageOID, ...] | None) -> None:
    ca = make_ca("Maillage E2E Purpose CA")
    identity = make_identity(ca, f"Jeanne Purpose {purposes is None}", email=JEANNE_BOX,
                             extended_key_usage=purposes)  # type: ignore[arg-type]
    with imported.client(rpps=JEANNE.rpps) as client:
        answer = client.post("/api/v1/directory/certificates",
                             json={"pem": identity.cert_pem.decode(), "mailbox": JEANNE_BOX})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["expression"] == "pem"
    assert problem["detail"] == ("The certificate's extended key usage does not include e-mail protection, "
                                 "which secure messaging requires.")
