"""A local token issuer for development and tests, standing in for Pro Santé Connect."""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from services.shared.auth.jwks import thumbprint
from services.shared.errors import Invalid
from services.shared.files import private_directory
from services.shared.identifiers import RPPS, check_finess, check_rpps
from services.shared.settings import DEV_ISSUER

KEY_FILE = Path("dev-issuer") / "signing-key.pem"


class DevIssuer:
    """Signs ES256 tokens with a P-256 key kept (mode 0600) under ``<var_dir>/dev-issuer/``."""

    def __init__(self, var_dir: Path, issuer: str = DEV_ISSUER, audience: str = "maillage") -> None:
        self.key_path = Path(var_dir) / KEY_FILE
        self.issuer = issuer
        self.audience = audience
        self._lock = threading.Lock()
        self._key: ec.EllipticCurvePrivateKey | None = None  # created on first use, not here

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._public_jwk()]}

    def mint(self, *, rpps: str | None = None, finess: str | None = None, roles: Iterable[str] = (),
             service: str | None = None, ttl_seconds: int = 3600, subject: str | None = None,
             audience: str | None = None, issuer: str | None = None,
             now: datetime | None = None) -> str:
        """A signed token; ``now``, ``audience`` and ``issuer`` let tests mint expired or foreign ones."""
        if ttl_seconds <= 0:
            raise Invalid(f"The token lifetime must be a positive number of seconds, not {ttl_seconds}.")
        issued = int((now or datetime.now(UTC)).timestamp())
        claims: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "aud": audience or self.audience,
            "sub": subject or _default_subject(rpps, finess, service),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_seconds,
            "jti": uuid.uuid4().hex,
            "roles": sorted(set(roles)),
        }
        if rpps is not None:
            claims["rpps"] = check_rpps(rpps)
            claims["SubjectNameID"] = RPPS + rpps  # Pro Santé Connect's national id for RPPS holders
        if finess is not None:
            claims["finess"] = check_finess(finess)
        if service is not None:
            claims["svc"] = service
        jwk = self._public_jwk()
        return jwt.encode(claims, self._signing_key(), algorithm="ES256",
                          headers={"kid": jwk["kid"], "typ": "JWT"})

    def _public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self._signing_key().public_key(), as_dict=True)
        jwk.update(use="sig", alg="ES256", kid=thumbprint(jwk))
        return jwk

    def _signing_key(self) -> ec.EllipticCurvePrivateKey:
        with self._lock:
            if self._key is None:
                self._key = self._load() or self._create()
            return self._key

    def _load(self) -> ec.EllipticCurvePrivateKey | None:
        try:
            pem = self.key_path.read_bytes()
        except FileNotFoundError:
            return None
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise Invalid(f"{self.key_path} is not an EC P-256 private key; delete it to get a new one.")
        return key

    def _create(self) -> ec.EllipticCurvePrivateKey:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        private_directory(self.key_path.parent)
        temporary = self.key_path.with_name(f".{self.key_path.name}.{uuid.uuid4().hex}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
                file.flush()
                os.fsync(file.fileno())
            # link() fails if the key exists: when two processes race, both end up with the winner's key.
            os.link(temporary, self.key_path)
        except FileExistsError:
            return self._load() or key
        finally:
            temporary.unlink(missing_ok=True)
        return key


def _default_subject(rpps: str | None, finess: str | None, service: str | None) -> str:
    if rpps:
        return RPPS + rpps  # the IDNPS
    if service:
        return f"service:{service}"
    if finess:
        return f"finess:{finess}"
    return "dev-user"
