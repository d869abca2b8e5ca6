"""Turns an ``Authorization: Bearer`` header into a Principal, or says precisely why not.

Everything in a token is hostile until its signature is checked, and the algorithm that checks it
comes from the issuer's published key, never from the token: a header that names another
algorithm than the key's is refused. Any malformed token is ``Unauthorized`` (401), never an error
of the library underneath.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from services.shared.auth.dev_issuer import DevIssuer
from services.shared.auth.jwks import ALGORITHMS, JwksProvider, RemoteJwks, StaticJwks
from services.shared.auth.principal import Principal, parse_finess, parse_rpps
from services.shared.errors import Invalid, Unauthorized
from services.shared.settings import DEV_ISSUER, Settings, SettingsError

__all__ = ["ALGORITHMS", "Authenticator", "authenticator_from_settings"]

DEFAULT_MAX_LIFETIME_SECONDS = 3600
MAX_TOKEN_CHARS = 8192  # a PSC access token is ~1.5 KB; anything much larger is not a token of ours
MAX_KID_CHARS = 256
_PSC_RPPS_PREFIX = "8"
_CACHE_SIZE = 10_000
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_LATEST_TIME = 253402300799  # 9999-12-31T23:59:59Z: later NumericDates are not dates
_MALFORMED = "The bearer token is not a well-formed JWT."


class Authenticator:
    def __init__(self, issuer: str, audience: str, jwks_provider: JwksProvider,
                 leeway_seconds: int = 30, max_lifetime_seconds: int | None = DEFAULT_MAX_LIFETIME_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks_provider = jwks_provider
        self.leeway_seconds = leeway_seconds
        self.max_lifetime_seconds = max_lifetime_seconds
        self._clock = clock
        # Practice software sends the same token with every request: verifying a signature costs
        # more than the rest of a small request. Remember verified tokens until they expire.
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def authenticate(self, authorization_header: str | None) -> Principal:
        token = _bearer_token(authorization_header)
        cached = self._verified.get(token)
        if cached is not None and cached[0] > self._clock():
            self._verified.move_to_end(token)
            return cached[1]
        claims = self._verified_claims(token)
        principal = _principal(claims)
        self._remember(token, claims["exp"], principal)
        return principal

    def _remember(self, token: str, expires: float, principal: Principal) -> None:
        self._verified[token] = (float(expires), principal)
        while len(self._verified) > _CACHE_SIZE:
            self._verified.popitem(last=False)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        header_part, payload_part, signature_part = _parts(token)
        header = _json_object(header_part)
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise Unauthorized("The token is not signed with an accepted algorithm (RS256, PS256, ES256, ES384).")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_CHARS:
            raise Unauthorized("The token header names no signing key (kid).")
        if "crit" in header:
            raise Unauthorized("The token header asks for extensions (crit) this platform does not support.")
        key = self.jwks_provider.key(kid)
        if key is None:
            raise Unauthorized("The token is signed with a key the issuer does not publish.")
        if algorithm != key.algorithm_name:
            raise Unauthorized("The token's algorithm is not the one of the issuer's key it names.")
        signature = _decode(signature_part)
        signing_input = f"{header_part}.{payload_part}".encode("ascii")
        if not _signature_verifies(key, signing_input, signature):
            raise Unauthorized("The token signature does not match the issuer's key.")
        claims = _json_object(payload_part)
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        """Registered claims, with their types checked: the signature is good, the content may not be."""
        for name in ("iss", "aud", "sub", "exp"):
            if name not in claims:
                raise Unauthorized(f"The token lacks the required claim {name!r}.")
        issuer = claims["iss"]
        if issuer != self.issuer:
            shown = issuer if isinstance(issuer, str) else "a non-text value"
            raise Unauthorized(f"The token was issued by {shown}, not by the configured issuer {self.issuer}.")
        audience = claims["aud"]
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or not all(isinstance(item, str) for item in audiences):
            raise Unauthorized("The token's aud claim must be a string or a list of strings.")
        if self.audience not in audiences:
            raise Unauthorized(f"The token is meant for audience {', '.join(audiences)}, not for {self.audience}.")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise Unauthorized("The token's sub claim must be a non-empty string.")
        expires = _numeric_date(claims, "exp")
        issued = _numeric_date(claims, "iat") if "iat" in claims else None
        not_before = _numeric_date(claims, "nbf") if "nbf" in claims else None
        now, leeway = self._clock(), self.leeway_seconds
        if expires <= now - leeway:
            raise Unauthorized("The token has expired.")
        if (not_before is not None and not_before > now + leeway) or (issued is not None and issued > now + leeway):
            raise Unauthorized("The token is not valid yet: its nbf or iat time is in the future.")
        if self.max_lifetime_seconds is not None:
            if issued is None:
                raise Unauthorized("The token lacks the required claim 'iat', needed to bound its lifetime.")
            if expires - issued > self.max_lifetime_seconds:
                raise Unauthorized(f"The token lives longer than the {self.max_lifetime_seconds} seconds "
                                   "this platform accepts.")
        if issued is not None and expires < issued:
            raise Unauthorized("The token expires before it was issued.")


def _bearer_token(header: str | None) -> str:
    if header is None or not header.strip():
        raise Unauthorized("No bearer token: send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise Unauthorized("The Authorization header is malformed: expected 'Bearer <token>'.")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized(f"The bearer token is longer than {MAX_TOKEN_CHARS} characters.")
    return token


def _parts(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1] or not all(_BASE64URL.fullmatch(part) for part in parts):
        raise Unauthorized(_MALFORMED)
    return parts[0], parts[1], parts[2]


def _decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise Unauthorized(_MALFORMED) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_decode(part), parse_constant=_reject_constant)  # NaN and Infinity are not JSON
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise Unauthorized(_MALFORMED) from None
    if not isinstance(value, dict):
        raise Unauthorized(_MALFORMED)
    return value


def _signature_verifies(key: jwt.PyJWK, signing_input: bytes, signature: bytes) -> bool:
    try:
        return bool(key.Algorithm.verify(signing_input, key.key, signature))
    except (ValueError, TypeError, OverflowError, jwt.PyJWTError):  # a malformed signature is a wrong one
        return False


def _numeric_date(claims: Mapping[str, Any], name: str) -> float:
    """A JSON number of seconds since 1970 (RFC 7519 NumericDate): not a string, not a boolean."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (isinstance(value, float) and not math.isfinite(value)) or not 0 <= value <= _LATEST_TIME:
        raise Unauthorized(f"The token's {name} claim must be a number of seconds since 1970.")
    return float(value)


def _text_claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unauthorized(f"The token's {name} claim must be a string.")
    return value


def _principal(claims: Mapping[str, Any]) -> Principal:
    rpps = _text_claim(claims, "rpps")
    psc_id = _text_claim(claims, "SubjectNameID")
    if rpps is None and psc_id is not None and psc_id.startswith(_PSC_RPPS_PREFIX):
        rpps = psc_id[len(_PSC_RPPS_PREFIX):]
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized("The token's roles claim must be a list of strings.")
    finess, service, token_id = (_text_claim(claims, name) for name in ("finess", "svc", "jti"))
    try:
        principal = Principal(
            subject=claims["sub"],
            rpps=parse_rpps(rpps) if rpps is not None else None,
            finess=parse_finess(finess) if finess is not None else None,
            roles=frozenset(roles),
            service=service or None,
            token_id=token_id,
        )
    except Invalid as error:
        raise Unauthorized(f"The token carries a malformed identity: {error.message}") from None
    if not principal.has_identity:
        raise Unauthorized("The token names nobody: it has no rpps, finess, svc claim nor admin role.")
    return principal


def authenticator_from_settings(settings: Settings) -> Authenticator:
    """The issuer's JWKS URL when configured; otherwise the local dev issuer (never in production)."""
    if settings.auth_jwks_url:
        provider: JwksProvider = RemoteJwks(settings.auth_jwks_url)
    elif settings.production:
        raise SettingsError("MAILLAGE_AUTH_JWKS_URL must be set when MAILLAGE_ENV=production.")
    elif settings.auth_issuer != DEV_ISSUER:
        raise SettingsError("MAILLAGE_AUTH_JWKS_URL must be set when MAILLAGE_AUTH_ISSUER is not the dev issuer.")
    else:
        issuer = DevIssuer(settings.var_dir, issuer=settings.auth_issuer, audience=settings.auth_audience)
        provider = StaticJwks(issuer.jwks())
    return Authenticator(settings.auth_issuer, settings.auth_audience, provider,
                         max_lifetime_seconds=settings.auth_max_token_lifetime_seconds)
