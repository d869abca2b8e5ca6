"""The platform operator's signing identity: from files in production, generated under var/ in development."""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.messaging.crypto.certs import PrivateKey, key_matches, load_certificates, load_private_key
from services.messaging.crypto.cms import decrypt
from services.messaging.crypto.signed_der import Signer
from services.messaging.crypto.testing import usage_flags
from services.shared.errors import Invalid
from services.shared.files import private_directory, write_private

DEV_DIR = Path("messaging-operator")
FILES = ("operator.pem", "operator.key", "ca.pem")


@dataclass(frozen=True)
class Operator:
    """Signs platform-built messages; ``chain`` is what recipients trust to verify them."""

    certificate: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...]

    def sign(self, mime: bytes) -> bytes:
        return self._signer.sign(mime)

    @functools.cached_property
    def _signer(self) -> Signer:  # the key was checked against the certificate in load_operator
        return Signer(self.certificate, self.key)

    def open(self, sealed: bytes) -> bytes:
        return decrypt(sealed, self.certificate, self.key)

    @property
    def chain_pem(self) -> str:
        return "".join(cert.public_bytes(serialization.Encoding.PEM).decode() for cert in self.chain)


def load_operator(cert_path: Path, key_path: Path, chain_path: Path | None, password: bytes | None = None) -> Operator:
    """The operator identity from PEM files; the chain defaults to the certificate file's other certificates."""
    certs = load_certificates(cert_path.read_bytes())
    key = load_private_key(key_path.read_bytes(), password)
    if not key_matches(certs[0], key):
        raise Invalid(f"{key_path} is not the private key of the certificate in {cert_path}.")
    chain = load_certificates(chain_path.read_bytes()) if chain_path else certs[1:] or certs[:1]
    return Operator(certs[0], key, tuple(chain))


def dev_operator(var_dir: Path, address: str) -> Operator:
    """A development operator (EC P-256 under a throwaway CA) kept in ``<var_dir>/messaging-operator/``."""
    folder = var_dir / DEV_DIR
    if not all((folder / name).exists() for name in FILES):
        _create(folder, address)
    return load_operator(folder / "operator.pem", folder / "operator.key", folder / "ca.pem")


def _create(folder: Path, address: str) -> None:
    private_directory(folder.parent)
    staging = Path(tempfile.mkdtemp(prefix=".operator-", dir=folder.parent))
    try:
        _write_identity(staging, address)
        os.rename(staging, folder)  # atomic: two processes racing both end with the winner's files
    except OSError:
        if not (folder / "operator.key").exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_identity(staging: Path, address: str) -> None:
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "Maillage Dev Operator CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage_flags(key_cert_sign=True, crl_sign=True), critical=True)
          .sign(ca_key, hashes.SHA256()))
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Maillage operator (development)")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage_flags(digital_signature=True, key_agreement=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    write_private(staging / "ca.pem", ca.public_bytes(pem))
    write_private(staging / "operator.pem", cert.public_bytes(pem))
    descriptor = os.open(staging / "operator.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
