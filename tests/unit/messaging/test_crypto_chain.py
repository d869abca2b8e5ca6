"""Certificate path validation and revocation: purposes, authorities' constraints, CRLs, the directory's revocations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.shared.errors import Invalid
from services.shared.pki import revocation
from services.shared.pki.certs import check_certificate
from services.shared.pki.chain import check_signer_trusted
from services.shared.pki.errors import UntrustedSigner
from services.shared.pki.revocation import CrlFiles, Revocations, load_crls
from services.shared.pki.signing import sign
from services.shared.pki.verification import verify
from services.shared.settings import read_settings
from tests.support.pki import Identity, make_ca, make_crl, make_identity, usage_flags

NOW = datetime.now(UTC)
EMAIL, SERVER = ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.SERVER_AUTH
NO_CHAIN = "The signer's certificate does not chain to a trusted authority."


@pytest.fixture(scope="module")
def igc() -> dict[str, Identity]:
    """A root, an intermediate under it (pathLen 0), and a signer under the intermediate."""
    root = make_ca("Chain Test Root")
    intermediate = make_ca("Chain Test Intermediate", issuer=root, path_length=0)
    return {"root": root, "intermediate": intermediate, "signer": make_identity(intermediate, "Chain Signer")}


def refused(signer: x509.Certificate, intermediates: list[x509.Certificate], trusted: list[x509.Certificate],
            revocations: Revocations | None = None, at: datetime = NOW) -> str:
    with pytest.raises(UntrustedSigner) as caught:
        check_signer_trusted(signer, intermediates, trusted, at, revocations=revocations or Revocations())
    return caught.value.message


def test_a_signer_under_an_intermediate_is_trusted(igc: dict[str, Identity]) -> None:
    check_signer_trusted(igc["signer"].cert, [igc["intermediate"].cert], [igc["root"].cert], NOW,
                         revocations=Revocations())


def test_without_the_intermediate_there_is_no_path(igc: dict[str, Identity]) -> None:
    assert refused(igc["signer"].cert, [], [igc["root"].cert]) == NO_CHAIN
    assert refused(igc["signer"].cert, [igc["intermediate"].cert], []) == NO_CHAIN


@pytest.mark.parametrize(("purposes", "words"), [
    (None, "extended key usage does not include e-mail protection"),
    ((SERVER,), "extended key usage does not include e-mail protection"),
    ((ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.CODE_SIGNING), "does not include e-mail protection"),
])
def test_the_signer_must_be_meant_for_email(igc: dict[str, Identity], purposes: tuple[x509.ObjectIdentifier, ...]
                                            | None, words: str) -> None:
    name = f"Purpose {purposes and '-'.join(p.dotted_string for p in purposes)}"
    signer = make_identity(igc["intermediate"], name, extended_key_usage=purposes)
    assert words in refused(signer.cert, [igc["intermediate"].cert], [igc["root"].cert])
    with pytest.raises(Invalid, match=words):  # nor published for encryption
        check_certificate(signer.cert, NOW, usage="encryption", revocations=Revocations())


def test_an_authority_restricted_to_other_purposes_cannot_vouch_for_email(igc: dict[str, Identity]) -> None:
    tls_only = make_ca("TLS Only Intermediate", issuer=igc["root"], extended_key_usage=[SERVER])
    signer = make_identity(tls_only, "Under TLS CA")
    assert refused(signer.cert, [tls_only.cert], [igc["root"].cert]) == NO_CHAIN
    for allowed in ([EMAIL], [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]):
        name = f"Mail CA {allowed[0].dotted_string}"
        mail_ca = make_ca(name, issuer=igc["root"], extended_key_usage=allowed)
        check_signer_trusted(make_identity(mail_ca, f"Under {name}").cert, [mail_ca.cert], [igc["root"].cert],
                             NOW, revocations=Revocations())


def test_path_length_constraints_are_honoured(igc: dict[str, Identity]) -> None:
    below = make_ca("Below PathLen Zero", issuer=igc["intermediate"])  # pathLen 0: no CA may follow
    signer = make_identity(below, "Too Deep")
    assert refused(signer.cert, [igc["intermediate"].cert, below.cert], [igc["root"].cert]) == NO_CHAIN


def test_an_issuer_that_is_not_an_authority_cannot_issue(igc: dict[str, Identity]) -> None:
    not_ca = make_ca("Not A CA", issuer=igc["root"], ca=False)
    no_cert_sign = make_ca("No KeyCertSign", issuer=igc["root"], key_usage=usage_flags(crl_sign=True))
    for issuer in (not_ca, no_cert_sign):
        signer = make_identity(issuer, f"Under {issuer.cert.subject.rfc4514_string()}")
        assert refused(signer.cert, [issuer.cert], [igc["root"].cert]) == NO_CHAIN


def test_an_expired_intermediate_breaks_the_path(igc: dict[str, Identity]) -> None:
    short = make_ca("Short Lived", issuer=igc["root"], not_after=NOW + timedelta(days=2))
    signer = make_identity(short, "Under Short Lived")
    check_signer_trusted(signer.cert, [short.cert], [igc["root"].cert], NOW, revocations=Revocations())
    later = NOW + timedelta(days=10)
    assert refused(signer.cert, [short.cert], [igc["root"].cert], at=later) == NO_CHAIN


def test_a_pinned_signer_is_trusted_without_its_authority(igc: dict[str, Identity]) -> None:
    check_signer_trusted(igc["signer"].cert, [], [igc["signer"].cert], NOW, revocations=Revocations())


def test_a_crl_revokes_the_signer_or_an_authority_on_its_path(igc: dict[str, Identity]) -> None:
    signer, intermediate, root = igc["signer"], igc["intermediate"], igc["root"]
    leaf_crl = make_crl(intermediate, [signer.cert])
    assert refused(signer.cert, [intermediate.cert], [root.cert], Revocations(crls=[leaf_crl])) == (
        "The signer's certificate was revoked by its authority (CRL).")
    root_crl = make_crl(root, [intermediate.cert])
    assert refused(signer.cert, [intermediate.cert], [root.cert], Revocations(crls=[root_crl])) == (
        "An authority above the signer's certificate was revoked by its authority (CRL).")
    other = make_identity(intermediate, "Not Revoked")
    check_signer_trusted(other.cert, [intermediate.cert], [root.cert], NOW,
                         revocations=Revocations(crls=[leaf_crl]))


def test_a_crl_forged_under_the_authority_name_revokes_nothing_on_a_path(igc: dict[str, Identity]) -> None:
    forged = make_crl(igc["intermediate"], [igc["signer"].cert], signer=make_ca("Forger"))
    check_signer_trusted(igc["signer"].cert, [igc["intermediate"].cert], [igc["root"].cert], NOW,
                         revocations=Revocations(crls=[forged]))


def test_a_stale_crl_still_revokes(igc: dict[str, Identity]) -> None:
    stale = make_crl(igc["intermediate"], [igc["signer"].cert], last_update=NOW - timedelta(days=30),
                     next_update=NOW - timedelta(days=20))
    assert "revoked" in refused(igc["signer"].cert, [igc["intermediate"].cert], [igc["root"].cert],
                                Revocations(crls=[stale]))


def test_the_directorys_revocations_are_honoured(igc: dict[str, Identity]) -> None:
    revocations = Revocations()
    revocations.revoke_fingerprint(igc["signer"].cert.fingerprint(hashes.SHA256()).hex().upper())
    assert refused(igc["signer"].cert, [igc["intermediate"].cert], [igc["root"].cert], revocations) == (
        "The signer's certificate was revoked in the directory.")
    with pytest.raises(Invalid, match=r"^The certificate was revoked in the directory\.$"):
        check_certificate(igc["signer"].cert, NOW, revocations=revocations)


def test_check_certificate_honours_crls_by_issuer_name(pki: dict[str, Identity]) -> None:
    crl = make_crl(pki["ca"], [pki["bob"].cert])
    with pytest.raises(Invalid, match=r"^The certificate was revoked by its authority \(CRL\)\.$"):
        check_certificate(pki["bob"].cert, NOW, usage="encryption", revocations=Revocations(crls=[crl]))
    assert check_certificate(pki["carol"].cert, NOW, revocations=Revocations(crls=[crl])).key_type == "EC"
    other_authority = make_crl(pki["rogue_ca"], [pki["bob"].cert])
    assert check_certificate(pki["bob"].cert, NOW, revocations=Revocations(crls=[other_authority]))


def test_an_end_entity_may_not_sign_certificates(pki: dict[str, Identity]) -> None:
    usage = usage_flags(digital_signature=True, key_encipherment=True, key_cert_sign=True)
    sneaky = make_identity(pki["ca"], "Sneaky Issuer", key_usage=usage)
    with pytest.raises(Invalid, match="only an authority's certificate may"):
        check_certificate(sneaky.cert, NOW, revocations=Revocations())


@pytest.fixture
def installed() -> Iterator[Revocations]:
    before = revocation.current()
    revocations = Revocations()
    revocation.install(revocations)
    yield revocations
    revocation.install(before)


def test_signed_messages_are_checked_against_the_revocations(pki: dict[str, Identity], installed: Revocations) -> None:
    signed = sign(b"Content-Type: text/plain\r\n\r\nbonjour\r\n", pki["alice"].cert, pki["alice"].key)
    heard = Revocations()
    assert verify(signed, [pki["ca"].cert], revocations=heard).signer_cert == pki["alice"].cert
    heard.revoke_fingerprint(pki["alice"].cert.fingerprint(hashes.SHA256()).hex())
    with pytest.raises(UntrustedSigner, match="revoked in the directory"):
        verify(signed, [pki["ca"].cert], revocations=heard)
    revocation.install(Revocations(crls=[make_crl(pki["ca"], [pki["alice"].cert])]))  # the process's CRLs
    with pytest.raises(UntrustedSigner, match=r"revoked by its authority \(CRL\)"):
        verify(signed, [pki["ca"].cert])
    with pytest.raises(Invalid, match=r"revoked by its authority \(CRL\)"):
        check_certificate(pki["alice"].cert, NOW)


def _pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def test_crl_files_pem_bundles_and_der(tmp_path: Path, pki: dict[str, Identity], igc: dict[str, Identity]) -> None:
    bundle, der = tmp_path / "bundle.pem", tmp_path / "one.crl"
    bundle.write_bytes(_pem(make_crl(pki["ca"], [pki["bob"].cert])) + _pem(make_crl(igc["root"])))
    der.write_bytes(make_crl(igc["intermediate"], [igc["signer"].cert]).public_bytes(serialization.Encoding.DER))
    files = CrlFiles([bundle, der])
    assert len(files.current()) == 3
    revocations = Revocations(files)
    assert revocations.reason(pki["bob"].cert) == "revoked by its authority (CRL)"
    assert revocations.reason(igc["signer"].cert, igc["intermediate"].cert) == "revoked by its authority (CRL)"
    assert revocations.reason(pki["carol"].cert) is None


@pytest.mark.parametrize("content", [b"", b"not a crl", b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"])
def test_a_broken_crl_file_stops_the_start(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pem"
    path.write_bytes(content)
    with pytest.raises(Invalid, match=r"^The CRL file .*broken.pem cannot be used: The file is not a certificate"):
        CrlFiles([path])
    with pytest.raises(Invalid, match="cannot be read"):
        CrlFiles([tmp_path / "missing.pem"])
    with pytest.raises(Invalid):
        load_crls(content)


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_crl_files_are_read_again_when_they_change(tmp_path: Path, pki: dict[str, Identity]) -> None:
    path, clock = tmp_path / "ca.pem", Ticker()
    path.write_bytes(_pem(make_crl(pki["ca"])))
    revocations = Revocations(CrlFiles([path], recheck_seconds=5, clock=clock))
    assert revocations.reason(pki["bob"].cert) is None

    path.write_bytes(_pem(make_crl(pki["ca"], [pki["bob"].cert, pki["dave"].cert])))
    os.utime(path, ns=(1, 1))  # a new stamp, whatever the file system's time resolution
    # the file is looked at again only once its recheck interval has passed
    assert revocations.reason(pki["bob"].cert) is None
    clock.now += 6
    assert revocations.reason(pki["bob"].cert) == "revoked by its authority (CRL)"

    path.write_bytes(b"half-written")
    os.utime(path, ns=(2, 2))
    clock.now += 6
    assert revocations.reason(pki["dave"].cert) == "revoked by its authority (CRL)"  # previous CRLs kept


def test_the_crl_files_setting(tmp_path: Path) -> None:
    assert read_settings({}).pki_crl_files == ()
    settings = read_settings({"MAILLAGE_PKI_CRL_FILES": f"{tmp_path}/a.pem, {tmp_path}/b.crl"})
    assert settings.pki_crl_files == (tmp_path / "a.pem", tmp_path / "b.crl")


class Container:
    """Stands for a nameko service container: anything a weak reference can point to."""


def test_each_container_hears_its_own_directory_revocations_over_the_process_crls(
        tmp_path: Path, pki: dict[str, Identity], installed: Revocations) -> None:
    path = tmp_path / "ca.pem"
    path.write_bytes(_pem(make_crl(pki["ca"], [pki["bob"].cert])))
    process = revocation.install_crl_files([path])
    assert revocation.install_crl_files([path]) is process  # a second service of the process: the same files
    one, other = Container(), Container()
    mine, theirs = revocation.for_owner(one, [path]), revocation.for_owner(other, [path])
    assert revocation.for_owner(one, [path]) is mine and mine is not theirs
    mine.revoke_fingerprint(pki["carol"].cert.fingerprint(hashes.SHA256()).hex())
    assert mine.reason(pki["carol"].cert) == "revoked in the directory"
    assert theirs.reason(pki["carol"].cert) is None and process.reason(pki["carol"].cert) is None
    assert mine.reason(pki["bob"].cert) == theirs.reason(pki["bob"].cert) == "revoked by its authority (CRL)"


def test_the_directory_cache_tells_the_process_revocations(igc: dict[str, Identity]) -> None:
    from services.shared.clients.directory import TtlCache

    revocations = Revocations()
    cache = TtlCache(30, 5, revocations=revocations)
    fingerprint = igc["signer"].cert.fingerprint(hashes.SHA256()).hex()
    cache.forget(fingerprint_hex=fingerprint, revoked=False)  # published: nothing revoked
    assert revocations.reason(igc["signer"].cert) is None
    cache.forget(fingerprint_hex=fingerprint, revoked=True)  # certificate.revoked
    assert revocations.reason(igc["signer"].cert) == "revoked in the directory"
