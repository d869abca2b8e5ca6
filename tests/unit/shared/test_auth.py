"""Bearer tokens: the dev issuer, the authenticator's reasons for refusing, and JWKS fetching."""
from __future__ import annotations

import base64
import json
import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.shared.auth import (
    Authenticator,
    DevIssuer,
    Principal,
    RemoteJwks,
    StaticJwks,
    authenticator_from_settings,
    require_finess,
    require_role,
    require_rpps,
    thumbprint,
)
from services.shared.errors import Forbidden, Invalid, Unauthorized, Unavailable
from services.shared.settings import DEV_ISSUER, Settings, SettingsError

RPPS = "10003498127"
FINESS = "750712184"


def now() -> datetime:
    """The time of each test, not of the module's import: a long suite would expire a token made then."""
    return datetime.now(UTC)


ACCEPTED_ONLY = "The token is not signed with an accepted algorithm (RS256, PS256, ES256, ES384)."


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path)


@pytest.fixture
def auth(issuer: DevIssuer) -> Authenticator:
    return Authenticator(DEV_ISSUER, "maillage", StaticJwks(issuer.jwks()))


def bearer(token: str) -> str:
    return f"Bearer {token}"


def refusal(auth: Authenticator, header: str | None) -> str:
    with pytest.raises(Unauthorized) as caught:
        auth.authenticate(header)
    return caught.value.message


def test_a_professional_token_gives_a_principal(issuer: DevIssuer, auth: Authenticator) -> None:
    principal = auth.authenticate(bearer(issuer.mint(rpps=RPPS, roles=["doctor"])))
    assert (principal.rpps, principal.finess, principal.service) == (RPPS, None, None)
    assert principal.roles == frozenset({"doctor"}) and not principal.is_admin
    assert principal.subject == f"8{RPPS}" and principal.token_id


def test_establishment_service_and_admin_identities(issuer: DevIssuer, auth: Authenticator) -> None:
    assert auth.authenticate(bearer(issuer.mint(finess=FINESS))).finess == FINESS
    assert auth.authenticate(bearer(issuer.mint(service="dmp_bridge"))).service == "dmp_bridge"
    assert auth.authenticate(bearer(issuer.mint(roles=["admin"]))).is_admin


@pytest.mark.parametrize("header", [None, "", "   "])
def test_no_token(auth: Authenticator, header: str | None) -> None:
    assert refusal(auth, header) == "No bearer token: send 'Authorization: Bearer <token>'."


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc"])
def test_malformed_header(auth: Authenticator, header: str) -> None:
    assert refusal(auth, header) == "The Authorization header is malformed: expected 'Bearer <token>'."


def test_not_a_jwt(auth: Authenticator) -> None:
    assert refusal(auth, "Bearer not.a.jwt") == "The bearer token is not a well-formed JWT."


def test_expired(issuer: DevIssuer, auth: Authenticator) -> None:
    token = issuer.mint(rpps=RPPS, ttl_seconds=60, now=now() - timedelta(hours=2))
    assert refusal(auth, bearer(token)) == "The token has expired."


def test_not_yet_valid(issuer: DevIssuer, auth: Authenticator) -> None:
    token = issuer.mint(rpps=RPPS, now=now() + timedelta(hours=1))
    assert refusal(auth, bearer(token)) == "The token is not valid yet: its nbf or iat time is in the future."


def test_leeway_tolerates_small_clock_skew(issuer: DevIssuer, auth: Authenticator) -> None:
    token = issuer.mint(rpps=RPPS, now=now() + timedelta(seconds=10))
    assert auth.authenticate(bearer(token)).rpps == RPPS


def test_wrong_issuer(issuer: DevIssuer, auth: Authenticator) -> None:
    token = issuer.mint(rpps=RPPS, issuer="https://elsewhere.example")
    assert refusal(auth, bearer(token)) == (
        f"The token was issued by https://elsewhere.example, not by the configured issuer {DEV_ISSUER}."
    )


def test_wrong_audience(issuer: DevIssuer, auth: Authenticator) -> None:
    token = issuer.mint(rpps=RPPS, audience="dmp")
    assert refusal(auth, bearer(token)) == "The token is meant for audience dmp, not for maillage."


def test_unknown_signing_key(tmp_path: Path, auth: Authenticator) -> None:
    stranger = DevIssuer(tmp_path / "stranger")
    kid = stranger.jwks()["keys"][0]["kid"]
    assert kid not in auth.jwks_provider._keys  # type: ignore[attr-defined]
    message = refusal(auth, bearer(stranger.mint(rpps=RPPS)))
    assert message == "The token is signed with a key the issuer does not publish."


def test_bad_signature(issuer: DevIssuer, auth: Authenticator) -> None:
    header, payload, signature = issuer.mint(rpps=RPPS).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["admin"]  # tampered after signing
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refusal(auth, bearer(f"{header}.{forged}.{signature}")) == (
        "The token signature does not match the issuer's key."
    )


def test_no_identity(issuer: DevIssuer, auth: Authenticator) -> None:
    assert refusal(auth, bearer(issuer.mint(roles=["reader"]))) == (
        "The token names nobody: it has no rpps, finess, svc claim nor admin role."
    )


def _claims(**extra: Any) -> dict[str, Any]:
    issued = int(now().timestamp())
    return {"iss": DEV_ISSUER, "aud": "maillage", "sub": "someone", "iat": issued,
            "exp": issued + 300, **extra}


def test_alg_none_is_refused(issuer: DevIssuer, auth: Authenticator) -> None:
    token = jwt.encode(_claims(rpps=RPPS), "", algorithm="none")
    assert refusal(auth, bearer(token)) == ACCEPTED_ONLY


def test_hs256_is_refused_even_when_keyed_with_the_public_key(issuer: DevIssuer, auth: Authenticator) -> None:
    public = issuer.jwks()["keys"][0]  # public, so an HMAC keyed with it could be forged by anyone
    token = jwt.encode(_claims(rpps=RPPS), public["x"], algorithm="HS256", headers={"kid": public["kid"]})
    assert refusal(auth, bearer(token)) == ACCEPTED_ONLY


@dataclass
class RsaIssuer:
    """A test issuer signing RS256 tokens, like Pro Santé Connect does."""

    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**jwk, "kid": thumbprint(jwk), "use": "sig"}

    def token(self, **claims: Any) -> str:
        return jwt.encode(_claims(**claims), self.key, algorithm="RS256", headers={"kid": self.jwk()["kid"]})


@pytest.fixture(scope="module")
def psc() -> RsaIssuer:
    return RsaIssuer()


def test_rs256_and_psc_subject_name_id(psc: RsaIssuer) -> None:
    auth = Authenticator(DEV_ISSUER, "maillage", StaticJwks({"keys": [psc.jwk()]}))
    principal = auth.authenticate(bearer(psc.token(SubjectNameID=f"8{RPPS}", jti="abc")))
    assert (principal.rpps, principal.token_id) == (RPPS, "abc")


def test_malformed_identity_claims_are_refused(psc: RsaIssuer) -> None:
    auth = Authenticator(DEV_ISSUER, "maillage", StaticJwks({"keys": [psc.jwk()]}))
    assert "The RPPS number fails its check digit" in refusal(auth, bearer(psc.token(rpps="10003498128")))
    assert refusal(auth, bearer(psc.token(rpps=RPPS, roles="admin"))) == (
        "The token's roles claim must be a list of strings."
    )


def test_the_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    first = DevIssuer(tmp_path)
    token = first.mint(rpps=RPPS)
    second = DevIssuer(tmp_path)
    assert second.jwks() == first.jwks()
    assert stat.S_IMODE(second.key_path.stat().st_mode) == 0o600
    assert Authenticator(DEV_ISSUER, "maillage", StaticJwks(second.jwks())).authenticate(bearer(token)).rpps == RPPS
    assert [p.name for p in second.key_path.parent.iterdir()] == ["signing-key.pem"]


def test_kid_is_the_rfc7638_thumbprint() -> None:
    # The example key of RFC 7638 section 3.1 and its published thumbprint.
    jwk = {"kty": "RSA", "e": "AQAB", "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
        "jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaS"
        "qzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH"
        "aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")}
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"rpps": "1234"}, "An RPPS number must be 11 digits"),
    ({"rpps": "10003498128"}, "fails its check digit"),
    ({"finess": "75-071218"}, "A FINESS number must be 9 letters or digits"),
    ({"rpps": RPPS, "ttl_seconds": 0}, "positive number of seconds"),
])
def test_minting_refuses_bad_input(issuer: DevIssuer, kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(Invalid, match=words):
        issuer.mint(**kwargs)


def test_authorisation_checks() -> None:
    doctor = Principal(subject="s", rpps=RPPS, roles=frozenset({"doctor"}))
    hospital = Principal(subject="h", finess=FINESS)
    require_role(doctor, "doctor")
    require_rpps(doctor, RPPS)
    require_finess(hospital, FINESS.lower())
    with pytest.raises(Forbidden, match="requires the role 'admin'"):
        require_role(doctor, "admin")
    with pytest.raises(Forbidden, match="not for another professional"):
        require_rpps(doctor, "10000000009")
    with pytest.raises(Forbidden, match="identified by an RPPS number"):
        require_rpps(hospital, RPPS)
    with pytest.raises(Forbidden, match="not for another FINESS"):
        require_finess(hospital, "130000000")
    with pytest.raises(Forbidden, match="identified by a FINESS number"):
        require_finess(doctor, FINESS)


def test_settings_choose_the_dev_issuer(tmp_path: Path) -> None:
    auth = authenticator_from_settings(Settings(var_dir=tmp_path))
    assert auth.authenticate(bearer(DevIssuer(tmp_path).mint(rpps=RPPS))).rpps == RPPS
    remote = authenticator_from_settings(Settings(auth_issuer="https://psc", auth_jwks_url="https://psc/jwks"))
    assert isinstance(remote.jwks_provider, RemoteJwks)
    with pytest.raises(SettingsError, match="MAILLAGE_AUTH_JWKS_URL must be set"):
        authenticator_from_settings(Settings(environment="production", auth_issuer="https://psc"))
    with pytest.raises(SettingsError, match="not the dev issuer"):
        authenticator_from_settings(Settings(auth_issuer="https://psc"))


class JwksServer:
    """A real HTTP server on 127.0.0.1 publishing whatever key set the test sets."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                body = json.dumps(owner.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_remote_jwks_refetches_once_on_an_unknown_kid(tmp_path: Path, jwks_server: JwksServer) -> None:
    old, new, forged = (DevIssuer(tmp_path / name) for name in ("old", "new", "forged"))
    jwks_server.jwks = old.jwks()
    clock = FakeClock()
    auth = Authenticator(DEV_ISSUER, "maillage", RemoteJwks(jwks_server.url, clock=clock))
    assert auth.authenticate(bearer(old.mint(rpps=RPPS))).rpps == RPPS
    assert jwks_server.requests == 1

    jwks_server.jwks = {"keys": old.jwks()["keys"] + new.jwks()["keys"]}  # the issuer rotates
    assert auth.authenticate(bearer(new.mint(rpps=RPPS))).rpps == RPPS
    assert jwks_server.requests == 2

    assert "a key the issuer does not publish" in refusal(auth, bearer(forged.mint(rpps=RPPS)))
    assert "a key the issuer does not publish" in refusal(auth, bearer(forged.mint(rpps=RPPS)))
    assert jwks_server.requests == 2  # unknown kids right after a refetch are not fetched again

    clock.now += 31
    refusal(auth, bearer(forged.mint(rpps=RPPS)))
    assert jwks_server.requests == 3
    clock.now += 300
    auth.authenticate(bearer(old.mint(rpps=RPPS)))
    assert jwks_server.requests == 4  # the cache expired


def test_remote_jwks_keeps_cached_keys_while_the_issuer_is_down(tmp_path: Path) -> None:
    server, issuer, clock = JwksServer(), DevIssuer(tmp_path), FakeClock()
    server.jwks = issuer.jwks()
    auth = Authenticator(DEV_ISSUER, "maillage", RemoteJwks(server.url, clock=clock))
    auth.authenticate(bearer(issuer.mint(rpps=RPPS)))
    server.stop()
    clock.now += 1000
    assert auth.authenticate(bearer(issuer.mint(rpps=RPPS))).rpps == RPPS
    with pytest.raises(Unavailable):  # a new kid cannot be looked up
        auth.authenticate(bearer(DevIssuer(tmp_path / "new").mint(rpps=RPPS)))


def test_remote_jwks_unavailable_when_the_issuer_is_down(issuer: DevIssuer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = Authenticator(DEV_ISSUER, "maillage", RemoteJwks(f"http://127.0.0.1:{port}/jwks"))
    with pytest.raises(Unavailable, match="cannot be fetched"):
        auth.authenticate(bearer(issuer.mint(rpps=RPPS)))


def test_a_verified_token_is_remembered_until_it_expires(issuer: DevIssuer) -> None:
    keys = StaticJwks(issuer.jwks())
    auth = Authenticator(DEV_ISSUER, "maillage", keys)
    token = issuer.mint(rpps="10001045367")
    first = auth.authenticate(bearer(token))
    auth.jwks_provider = StaticJwks({"keys": []})  # the signature could no longer be checked
    assert auth.authenticate(bearer(token)) == first
    other = issuer.mint(rpps="10000023084")
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(other))
    auth._verified[token] = (0.0, first)  # as if it had expired since
    with pytest.raises(Unauthorized):
        auth.authenticate(bearer(token))
