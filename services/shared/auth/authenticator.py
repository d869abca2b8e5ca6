"""Turns an ``Authorization: Bearer`` header into a Principal, or says precisely why not."""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import jwt

from services.shared.auth.dev_issuer import DevIssuer
from services.shared.auth.jwks import JwksProvider, RemoteJwks, StaticJwks
from services.shared.auth.principal import Principal, parse_finess, parse_rpps
from services.shared.errors import Invalid, Unauthorized
from services.shared.settings import DEV_ISSUER, Settings, SettingsError

# Asymmetric only: "none" forges trivially and HS* would let anyone holding the public key sign.
ALGORITHMS = ("RS256", "ES256")
_PSC_RPPS_PREFIX = "8"
_CACHE_SIZE = 10_000


class Authenticator:
    def __init__(self, issuer: str, audience: str, jwks_provider: JwksProvider,
                 leeway_seconds: int = 30) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks_provider = jwks_provider
        self.leeway_seconds = leeway_seconds
        # Practice software sends the same token with every request: verifying a signature costs
        # more than the rest of a small request. Remember verified tokens until they expire.
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def authenticate(self, authorization_header: str | None) -> Principal:
        token = _bearer_token(authorization_header)
        cached = self._verified.get(token)
        if cached is not None and cached[0] > time.time():
            self._verified.move_to_end(token)
            return cached[1]
        claims = self._verified_claims(token)
        principal = _principal(claims)
        self._remember(token, claims, principal)
        return principal

    def _remember(self, token: str, claims: Mapping[str, Any], principal: Principal) -> None:
        expires = claims.get("exp")
        if not isinstance(expires, (int, float)):
            return
        self._verified[token] = (float(expires), principal)
        while len(self._verified) > _CACHE_SIZE:
            self._verified.popitem(last=False)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The bearer token is not a well-formed JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise Unauthorized(f"The token is signed with {algorithm!r}; only RS256 and ES256 are accepted.")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthorized("The token header names no signing key (kid).")
        key = self.jwks_provider.key(kid)
        if key is None:
            raise Unauthorized(f"The token is signed with key {kid!r}, which the issuer does not publish.")
        try:
            return jwt.decode(token, key.key, algorithms=[algorithm], audience=self.audience,
                              issuer=self.issuer, leeway=self.leeway_seconds,
                              options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWTError as error:
            raise Unauthorized(self._reason(error, token)) from None

    def _reason(self, error: jwt.PyJWTError, token: str) -> str:
        if isinstance(error, jwt.InvalidSignatureError):
            return "The token signature does not match the issuer's key."
        if isinstance(error, jwt.DecodeError):
            return "The bearer token is not a well-formed JWT."
        # Claims are only quoted back once the signature has been checked (PyJWT checks it first).
        claims = jwt.decode(token, options={"verify_signature": False})
        if isinstance(error, jwt.ExpiredSignatureError):
            return "The token has expired."
        if isinstance(error, (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError)):
            return "The token is not valid yet: its nbf or iat time is in the future."
        if isinstance(error, jwt.InvalidIssuerError):
            return f"The token was issued by {claims.get('iss')}, not by the configured issuer {self.issuer}."
        if isinstance(error, jwt.InvalidAudienceError):
            return f"The token is meant for audience {claims.get('aud')}, not for {self.audience}."
        if isinstance(error, jwt.MissingRequiredClaimError):
            return f"The token lacks the required claim {error.claim!r}."
        return f"The token cannot be verified: {error}."


def _bearer_token(header: str | None) -> str:
    if header is None or not header.strip():
        raise Unauthorized("No bearer token: send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise Unauthorized("The Authorization header is malformed: expected 'Bearer <token>'.")
    return token.strip()


def _principal(claims: Mapping[str, Any]) -> Principal:
    rpps = claims.get("rpps")
    psc_id = claims.get("SubjectNameID")
    if rpps is None and isinstance(psc_id, str) and psc_id.startswith(_PSC_RPPS_PREFIX):
        rpps = psc_id[len(_PSC_RPPS_PREFIX):]
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized("The token's roles claim must be a list of strings.")
    service = claims.get("svc")
    try:
        principal = Principal(
            subject=str(claims["sub"]),
            rpps=parse_rpps(str(rpps)) if rpps is not None else None,
            finess=parse_finess(str(claims["finess"])) if claims.get("finess") is not None else None,
            roles=frozenset(roles),
            service=str(service) if service else None,
            token_id=str(claims["jti"]) if claims.get("jti") is not None else None,
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
    return Authenticator(settings.auth_issuer, settings.auth_audience, provider)
