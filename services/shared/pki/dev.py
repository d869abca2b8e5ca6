"""Development-only signing identities: an EC P-256 certificate under a throwaway CA, kept in a folder.

Never on the production path: a service reaches this only when no identity files are configured,
which its settings refuse when MAILLAGE_ENV=production. Tests mint their PKI with tests/support/pki.py.
"""
from __future__ import annotations

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

from services.shared.files import private_directory, write_private
from services.shared.pki.certs import KEY_USAGE_NAMES


@dataclass(frozen=True)
class DevIdentityFiles:
    """Where a development identity's PEM files are: its certificate, its key and its CA."""

    cert: Path
    key: Path
    ca: Path


def dev_signing_identity(folder: Path, address: str, *, stem: str, ca_name: str, name: str) -> DevIdentityFiles:
    """``<stem>.pem``, ``<stem>.key`` and ``ca.pem`` in ``folder``: an identity for ``address``, made on first use."""
    files = DevIdentityFiles(folder / f"{stem}.pem", folder / f"{stem}.key", folder / "ca.pem")
    if not all(path.exists() for path in (files.cert, files.key, files.ca)):
        _create(folder, files, address, ca_name, name)
    return files


def usage_flags(**enabled: bool) -> x509.KeyUsage:
    """A KeyUsage with only the named flags set, e.g. ``usage_flags(digital_signature=True)``."""
    # KeyUsage also takes the two flags that only qualify key_agreement
    flags = dict.fromkeys((*KEY_USAGE_NAMES, "encipher_only", "decipher_only"), False)
    flags.update(enabled)
    return x509.KeyUsage(**flags)


def _create(folder: Path, files: DevIdentityFiles, address: str, ca_name: str, name: str) -> None:
    private_directory(folder.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        _write_identity(staging, files, address, ca_name, name)
        os.rename(staging, folder)  # atomic: two processes racing both end with the winner's files
    except OSError:
        if not files.key.exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_identity(staging: Path, files: DevIdentityFiles, address: str, ca_common: str, common: str) -> None:
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                         x509.NameAttribute(NameOID.COMMON_NAME, ca_common)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage_flags(key_cert_sign=True, crl_sign=True), critical=True)
          .sign(ca_key, hashes.SHA256()))
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage_flags(digital_signature=True, key_agreement=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    write_private(staging / files.ca.name, ca.public_bytes(pem))
    write_private(staging / files.cert.name, cert.public_bytes(pem))
    descriptor = os.open(staging / files.key.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
