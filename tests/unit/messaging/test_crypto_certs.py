"""Certificate and key loading, and the checks a certificate passes before it is accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.shared.errors import Invalid
from services.shared.pki.certs import (
    check_certificate,
    load_certificate,
    load_certificates,
    load_private_key,
)
from services.shared.pki.enveloping import encrypt
from tests.support.pki import Identity, make_identity, usage_flags

NOW = datetime.now(UTC)


def test_facts_of_a_good_rsa_certificate(pki: dict[str, Identity]) -> None:
    cert = pki["bob"].cert

    facts = check_certificate(cert, NOW)

    assert (facts.key_type, facts.key_size) == ("RSA", 2048)
    assert facts.key_usage == {"digital_signature", "key_encipherment"}
    assert facts.subject == "CN=Bob Durand,C=FR"
    assert facts.fingerprint_sha256 == cert.fingerprint(hashes.SHA256()).hex()
    assert facts.not_before == cert.not_valid_before_utc
    assert facts.not_after == cert.not_valid_after_utc


def test_facts_of_a_good_ec_certificate(pki: dict[str, Identity]) -> None:
    facts = check_certificate(pki["carol"].cert, NOW)

    assert (facts.key_type, facts.key_size) == ("EC", 256)
    assert facts.key_usage == {"digital_signature", "key_agreement"}


def test_an_expired_certificate_is_refused(pki: dict[str, Identity]) -> None:
    with pytest.raises(Invalid, match=r"^The certificate expired on \d{4}-\d\d-\d\d"):
        check_certificate(pki["bob"].cert, NOW + timedelta(days=400))


def test_a_certificate_not_yet_valid_is_refused(pki: dict[str, Identity]) -> None:
    with pytest.raises(Invalid, match=r"^The certificate is not valid before "):
        check_certificate(pki["bob"].cert, NOW - timedelta(days=2))


def test_a_short_rsa_key_is_refused(pki: dict[str, Identity]) -> None:
    weak = make_identity(pki["ca"], "Weak Key", key_size=1024)

    with pytest.raises(Invalid, match="RSA key has 1024 bits; at least 2048 are required"):
        check_certificate(weak.cert, NOW)


def test_an_unaccepted_curve_is_refused(pki: dict[str, Identity]) -> None:
    p521 = make_identity(pki["ca"], "Big Curve", kind="ec", curve="secp521r1")

    with pytest.raises(Invalid, match="curve secp521r1 is not accepted; use P-256 or P-384"):
        check_certificate(p521.cert, NOW)


def test_p384_is_accepted(pki: dict[str, Identity]) -> None:
    p384 = make_identity(pki["ca"], "P384 User", kind="ec", curve="secp384r1")

    assert check_certificate(p384.cert, NOW).key_size == 384


@pytest.mark.parametrize(
    ("kind", "usage", "purpose", "missing"),
    [
        ("rsa", {"digital_signature": True}, "encryption", "key encipherment"),
        ("ec", {"digital_signature": True, "key_encipherment": True}, "both", "key agreement"),
        ("rsa", {"key_encipherment": True}, "signature", "digital signature"),
        ("ec", {"key_agreement": True}, "both", "digital signature"),
    ],
)
def test_a_key_usage_unfit_for_the_purpose_is_refused(
    pki: dict[str, Identity], kind: str, usage: dict[str, bool], purpose: str, missing: str
) -> None:
    name = f"Usage {kind} {'-'.join(usage)} {purpose}"
    identity = make_identity(pki["ca"], name, kind=kind, key_usage=usage_flags(**usage))  # type: ignore[arg-type]

    with pytest.raises(Invalid, match=f"does not allow {missing}"):
        check_certificate(identity.cert, NOW, usage=purpose)  # type: ignore[arg-type]


def test_a_signature_only_certificate_passes_for_signature(pki: dict[str, Identity]) -> None:
    identity = make_identity(
        pki["ca"], "Signer Only", key_usage=usage_flags(digital_signature=True)
    )

    assert check_certificate(identity.cert, NOW, usage="signature").key_usage == {
        "digital_signature"
    }


def test_a_ca_certificate_is_refused(pki: dict[str, Identity]) -> None:
    with pytest.raises(Invalid, match="certification authority"):
        check_certificate(pki["ca"].cert, NOW)


def test_an_unsupported_key_type_is_refused(pki: dict[str, Identity]) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=Ed"))
        .issuer_name(pki["ca"].cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(pki["ca"].key, hashes.SHA256())
    )

    with pytest.raises(Invalid, match="key type is not accepted"):
        check_certificate(cert, NOW)
    with pytest.raises(Invalid, match="cannot receive messages"):
        encrypt(b"x", [cert])


def test_certificates_load_from_pem_der_and_bundles(pki: dict[str, Identity]) -> None:
    cert = pki["bob"].cert
    der = cert.public_bytes(serialization.Encoding.DER)

    assert load_certificate(pki["bob"].cert_pem) == cert
    assert load_certificate(der) == cert
    assert load_certificates(pki["bob"].cert_pem + pki["ca"].cert_pem) == [cert, pki["ca"].cert]
    assert load_certificates(der) == [cert]


def test_keys_load_from_pem_der_and_with_a_password(pki: dict[str, Identity]) -> None:
    key = pki["carol"].key
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    for loaded in (load_private_key(pki["carol"].key_pem), load_private_key(der)):
        assert loaded.private_numbers() == key.private_numbers()
    assert load_private_key(encrypted, b"s3cret").private_numbers() == key.private_numbers()
    with pytest.raises(Invalid, match="password"):
        load_private_key(encrypted, b"wrong")


@pytest.mark.parametrize("garbage", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\n"])
def test_garbage_is_not_a_certificate(garbage: bytes) -> None:
    with pytest.raises(Invalid):
        load_certificate(garbage)
    with pytest.raises(Invalid):
        load_certificates(garbage)
    with pytest.raises(Invalid):
        load_private_key(garbage)
