"""A certificate published to the directory must be meant for e-mail protection and not be revoked."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.directory.adapters.certificate_check import inspect
from services.directory.domain.errors import UnusableCertificate
from services.shared.pki import revocation
from tests.support.pki import Identity, make_ca, make_crl, make_identity

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ca() -> Identity:
    return make_ca("Directory Check CA")


@pytest.fixture
def restore_revocations() -> Iterator[None]:
    before = revocation.current()
    yield
    revocation.install(before)


def _pem(identity: Identity) -> str:
    return identity.cert_pem.decode()


def test_a_certificate_for_e_mail_protection_is_accepted(ca: Identity) -> None:
    view = inspect(_pem(make_identity(ca, "Good Mail")), NOW, mailbox="good.mail@test.mssante.fr",
                   professional_idnps=None)
    assert view.mailbox == "good.mail@test.mssante.fr" and not view.revoked


@pytest.mark.parametrize("purposes", [None, (ExtendedKeyUsageOID.SERVER_AUTH,)])
def test_a_certificate_not_meant_for_e_mail_is_unusable(ca: Identity, purposes: tuple[object, ...] | None) -> None:
    identity = make_identity(ca, f"Not Mail {purposes is None}", extended_key_usage=purposes)  # type: ignore[arg-type]
    with pytest.raises(UnusableCertificate, match="does not include e-mail protection") as caught:
        inspect(_pem(identity), NOW, mailbox=None, professional_idnps="810003498127")
    assert caught.value.status == 422 and caught.value.expression == "pem"


def test_a_certificate_revoked_by_the_configured_crl_files_is_unusable(
        ca: Identity, tmp_path: Path, restore_revocations: None) -> None:
    revoked = make_identity(ca, "Revoked Mail")
    (tmp_path / "ca.pem").write_bytes(make_crl(ca, [revoked.cert]).public_bytes(serialization.Encoding.PEM))
    revocation.install_crl_files([tmp_path / "ca.pem"])  # what the service does at start
    with pytest.raises(UnusableCertificate, match=r"^The certificate was revoked by its authority \(CRL\)\.$"):
        inspect(_pem(revoked), NOW, mailbox=None, professional_idnps="810003498127")
    inspect(_pem(make_identity(ca, "Still Good")), NOW, mailbox=None, professional_idnps="810003498127")
