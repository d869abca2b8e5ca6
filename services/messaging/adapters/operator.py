"""The platform operator's signing identity: from files in production, generated under var/ in development."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from services.shared.errors import Invalid
from services.shared.pki.certs import PrivateKey, key_matches, load_certificates, load_private_key
from services.shared.pki.cms import decrypt
from services.shared.pki.dev import dev_signing_identity
from services.shared.pki.signed_der import Signer

DEV_DIR = Path("messaging-operator")


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
    """A development operator (EC P-256 under a throwaway CA) kept in ``<var_dir>/messaging-operator/``.

    Only when no operator files are configured, which the settings refuse in production.
    """
    files = dev_signing_identity(var_dir / DEV_DIR, address, stem="operator",
                                 ca_name="Maillage Dev Operator CA", name="Maillage operator (development)")
    return load_operator(files.cert, files.key, files.ca)
