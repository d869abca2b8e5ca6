"""services.shared.pki.dev: the development signing identity a service falls back to without configured files."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.shared.pki.certs import check_certificate, key_matches, load_certificate, load_private_key
from services.shared.pki.chain import check_signer_trusted
from services.shared.pki.dev import DevIdentityFiles, dev_signing_identity, usage_flags

ADDRESS = "ne-pas-repondre@maillage.test"


def make(folder: Path) -> DevIdentityFiles:
    return dev_signing_identity(folder, ADDRESS, stem="operator", ca_name="Dev CA", name="Dev operator")


def test_the_identity_is_made_once_and_kept(tmp_path: Path) -> None:
    files = make(tmp_path / "operator")
    assert [files.cert.name, files.key.name, files.ca.name] == ["operator.pem", "operator.key", "ca.pem"]
    first = files.cert.read_bytes()
    assert make(tmp_path / "operator").cert.read_bytes() == first  # found, not made again
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no staging folder left


def test_the_identity_is_fit_to_sign_secure_mail_under_its_ca(tmp_path: Path) -> None:
    files = make(tmp_path / "operator")
    cert, ca = load_certificate(files.cert.read_bytes()), load_certificate(files.ca.read_bytes())
    key = load_private_key(files.key.read_bytes())
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key_matches(cert, key)
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.RFC822Name) == [ADDRESS]
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    now = datetime.now(UTC)
    check_certificate(cert, now, usage="signature")
    check_signer_trusted(cert, [], [ca], now)  # its path to the CA validates


def test_usage_flags_sets_only_the_named_flags() -> None:
    usage = usage_flags(digital_signature=True, key_agreement=True)
    assert usage.digital_signature and usage.key_agreement and not usage.encipher_only
    assert not (usage.key_encipherment or usage.key_cert_sign or usage.crl_sign or usage.content_commitment)
