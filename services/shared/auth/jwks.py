"""Where the issuer's public signing keys come from: a fixed JWK set or the issuer's JWKS URL."""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import jwt

from services.shared.errors import Unavailable
from services.shared.logging import get_logger

Fetch = Callable[[str, float], Mapping[str, Any]]
# Asymmetric only: "none" forges trivially and HS* would let anyone holding the public key sign.
ALGORITHMS = ("RS256", "PS256", "ES256", "ES384")
_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384"}
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
_MAX_JWKS_BYTES = 1_000_000
log = get_logger(__name__)


class JwksProvider(Protocol):
    def key(self, kid: str) -> jwt.PyJWK | None:
        """The verification key published under ``kid``, or None if the issuer has none."""


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url), the conventional ``kid``."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def parse_jwks(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """Signing keys by kid, each bound to the one algorithm tokens signed with it must use.

    That algorithm is the key's ``alg`` when published, else follows from the key type (EC P-256:
    ES256, P-384: ES384, RSA: RS256). Encryption keys, symmetric keys, algorithms outside
    ``ALGORITHMS`` and an ``alg`` that contradicts the curve are skipped.
    """
    keys: dict[str, jwt.PyJWK] = {}
    entries = jwks.get("keys", ())
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping) or entry.get("use", "sig") != "sig" or not isinstance(entry.get("kid"), str):
            continue
        algorithm = _algorithm_of(entry)
        if algorithm is None:
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(dict(entry), algorithm)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue  # one odd key must not hide the others
    return keys


def _algorithm_of(entry: Mapping[str, Any]) -> str | None:
    kty, published = entry.get("kty"), entry.get("alg")
    if kty == "EC":
        implied = _CURVE_ALGORITHMS.get(entry.get("crv"))  # type: ignore[arg-type]
        return implied if published in (None, implied) else None
    if kty == "RSA":
        algorithm = published if published is not None else "RS256"
        return algorithm if algorithm in ("RS256", "PS256") else None
    return None


class StaticJwks:
    """A JWK set known in advance (the dev issuer's, or a test's)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = parse_jwks(jwks)

    def key(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)


def fetch_json(url: str, timeout: float) -> Mapping[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read(_MAX_JWKS_BYTES + 1)
    if len(body) > _MAX_JWKS_BYTES:
        raise ValueError("JWKS document too large")
    document = json.loads(body)
    if not isinstance(document, Mapping):
        raise TypeError("JWKS document is not a JSON object")
    return document


class RemoteJwks:
    """The issuer's JWKS URL, cached for ``ttl_seconds`` and refetched when a new kid appears.

    An unknown kid triggers at most one refetch per ``refetch_interval_seconds``: the issuer may
    have rotated its keys, but a stream of forged kids must not become a stream of requests.
    """

    def __init__(self, url: str, ttl_seconds: float = 300, fetch: Fetch = fetch_json, *,
                 refetch_interval_seconds: float = 30, timeout_seconds: float = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._ttl = ttl_seconds
        self._fetch = fetch
        self._refetch_interval = refetch_interval_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._forced_at: float | None = None

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            now = self._clock()
            fresh = False
            if self._keys is None or now - self._fetched_at >= self._ttl:
                fresh = self._refresh(now, stale_ok=self._keys is not None)
            assert self._keys is not None
            if kid in self._keys or fresh:
                return self._keys.get(kid)
            if self._forced_at is None or now - self._forced_at >= self._refetch_interval:
                self._forced_at = now
                self._refresh(now, stale_ok=False)
            return self._keys.get(kid)

    def _refresh(self, now: float, *, stale_ok: bool) -> bool:
        """Fetch the key set; False when it failed and the cached set is kept."""
        try:
            self._keys = parse_jwks(self._fetch(self.url, self._timeout))
            self._fetched_at = now
            return True
        except (OSError, ValueError, TypeError) as error:  # URLError and timeouts are OSErrors
            if not stale_ok:
                raise Unavailable(f"The token issuer's keys cannot be fetched from {self.url} right now.") from error
            # Keys rotate rarely: keep verifying with the cached set while the issuer is down,
            # and retry after the refetch interval rather than on every request.
            self._fetched_at = now - self._ttl + self._refetch_interval
            log.warning("jwks refresh failed, keeping cached keys", url=self.url, error=str(error))
            return False
