"""Forged and malformed bearer tokens: every one is refused with Unauthorized, none raises anything else.

The algorithm that checks a signature comes from the issuer's published key, never from the token:
a header naming RS256 with the kid of an EC key once reached PyJWT's RSA code with an EC key and
answered 500 (TypeError).
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from services.shared.auth import Authenticator, DevIssuer, StaticJwks, parse_jwks, thumbprint
from services.shared.errors import Unauthorized
from services.shared.settings import DEV_ISSUER, SettingsError, read_settings

RPPS = "10003498127"
RSA_KEY = rsa.generate_private_key(65537, 2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk_of(key: Any, **extra: Any) -> dict[str, Any]:
    public = key.public_key()
    jwk: dict[str, Any] = (RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm).to_jwk(
        public, as_dict=True)
    return {**jwk, "kid": thumbprint(jwk), "use": "sig", **extra}


EC_JWK, RSA_JWK = jwk_of(EC_KEY), jwk_of(RSA_KEY)


def good_claims(**changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {"iss": DEV_ISSUER, "aud": "maillage", "sub": f"8{RPPS}", "iat": now,
                              "exp": now + 600, "rpps": RPPS}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not DROP}


DROP = object()


def signed(payload: bytes | dict[str, Any], *, key: Any = EC_KEY, alg: str = "ES256",
           header: dict[str, Any] | None = None) -> str:
    """A token whose signature is right for its bytes, whatever they say."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    head = header if header is not None else {"alg": alg, "kid": jwk_of(key)["kid"], "typ": "JWT"}
    signing_input = f"{b64(json.dumps(head))}.{b64(body)}"
    signature = jwt.get_algorithm_by_name(alg).sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def raw(header: bytes | str, payload: bytes | str = b"{}", signature: bytes = b"sig") -> str:
    return f"{b64(header)}.{b64(payload)}.{b64(signature)}"


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator(DEV_ISSUER, "maillage", StaticJwks({"keys": [EC_JWK, RSA_JWK]}))


def test_well_formed_tokens_of_both_key_types_pass(auth: Authenticator) -> None:
    assert auth.authenticate(f"Bearer {signed(good_claims())}").rpps == RPPS
    assert auth.authenticate(f"Bearer {signed(good_claims(), key=RSA_KEY, alg='RS256')}").rpps == RPPS


def _rs256_header_with_the_ec_kid() -> str:
    # The reported 500: RS256 signed with an RSA key, but naming the EC key's kid.
    return signed(good_claims(), key=RSA_KEY, alg="RS256",
                  header={"alg": "RS256", "kid": EC_JWK["kid"]})


def _es256_header_with_the_rsa_kid() -> str:
    return signed(good_claims(), key=EC_KEY, alg="ES256", header={"alg": "ES256", "kid": RSA_JWK["kid"]})


def _hs256_keyed_with_the_public_key() -> str:
    secret = EC_JWK["x"]  # public: an HMAC keyed with it could be forged by anyone
    return jwt.encode(good_claims(), secret, algorithm="HS256", headers={"kid": EC_JWK["kid"]})


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


FORGERIES: dict[str, Callable[[], str]] = {
    "RS256 header, EC kid": _rs256_header_with_the_ec_kid,
    "ES256 header, RSA kid": _es256_header_with_the_rsa_kid,
    "PS256 header, RSA kid published for RS256": lambda: signed(
        good_claims(), key=RSA_KEY, alg="PS256", header={"alg": "PS256", "kid": RSA_JWK["kid"]}),
    "ES384 header, P-256 kid": lambda: raw(json.dumps({"alg": "ES384", "kid": EC_JWK["kid"]}),
                                           json.dumps(good_claims()), b"\x01" * 96),
    "alg none": lambda: jwt.encode(good_claims(), None, algorithm="none", headers={"kid": EC_JWK["kid"]}),
    "alg None, no signature part": lambda: raw(json.dumps({"alg": "none", "kid": EC_JWK["kid"]}),
                                               json.dumps(good_claims()), b""),
    "HS256 keyed with the public key": _hs256_keyed_with_the_public_key,
    "alg missing": lambda: raw(json.dumps({"kid": EC_JWK["kid"]})),
    "alg a number": lambda: raw(json.dumps({"alg": 256, "kid": EC_JWK["kid"]})),
    "alg a list": lambda: raw(json.dumps({"alg": ["ES256"], "kid": EC_JWK["kid"]})),
    "kid missing": lambda: signed(good_claims(), header={"alg": "ES256"}),
    "kid a number": lambda: raw(json.dumps({"alg": "ES256", "kid": 7})),
    "kid an object": lambda: raw(json.dumps({"alg": "ES256", "kid": {"$ne": None}})),
    "kid empty": lambda: raw(json.dumps({"alg": "ES256", "kid": ""})),
    "kid unknown": lambda: signed(good_claims(), header={"alg": "ES256", "kid": "unknown"}),
    "kid huge": lambda: raw(json.dumps({"alg": "ES256", "kid": "k" * 5000})),
    "crit header": lambda: signed(good_claims(), header={"alg": "ES256", "kid": EC_JWK["kid"], "crit": ["b64"]}),
    "header not base64url": lambda: "eyJhbGciOiJFUzI1NiJ9!." + b64("{}") + ".c2ln",
    "header not JSON": lambda: raw(b"\xff\xfe not json"),
    "header a JSON list": lambda: raw(b'["ES256"]'),
    "header a JSON string": lambda: raw(b'"ES256"'),
    "header deeply nested": lambda: raw(_nested(100_000)[:6000]),
    "two parts": lambda: f"{b64('{}')}.{b64('{}')}",
    "four parts": lambda: f"{b64('{}')}.{b64('{}')}.{b64('s')}.{b64('x')}",
    "empty parts": lambda: "..",
    "non-ASCII": lambda: "é.é.é",
    "huge token": lambda: "a" * 100_000 + "." + "b" * 100_000 + ".c",
    "signature of the wrong length": lambda: signed(good_claims()).rsplit(".", 1)[0] + "." + b64(b"\x00" * 7),
    "signature not base64url": lambda: signed(good_claims()).rsplit(".", 1)[0] + ".@@@@",
    "payload tampered": lambda: ".".join([signed(good_claims()).split(".")[0], b64(json.dumps(
        good_claims(roles=["admin"]))), signed(good_claims()).split(".")[2]]),
    "payload not JSON": lambda: signed(b"\xff not json"),
    "payload a list": lambda: signed(b"[1, 2]"),
    "payload a number": lambda: signed(b"42"),
    "exp missing": lambda: signed(good_claims(exp=DROP)),
    "exp a numeric string": lambda: signed(good_claims(exp="9999999999")),
    "exp a float string": lambda: signed(good_claims(exp="1e10")),
    "exp true": lambda: signed(good_claims(exp=True)),
    "exp null": lambda: signed(good_claims(exp=None)),
    "exp a list": lambda: signed(good_claims(exp=[9999999999])),
    "exp an object": lambda: signed(good_claims(exp={"$gt": 0})),
    "exp NaN": lambda: signed(json.dumps(good_claims()).replace('"exp": ', '"exp": NaN, "x": ').encode()),
    "exp Infinity": lambda: signed(json.dumps(good_claims()).replace('"exp": ', '"exp": Infinity, "x": ').encode()),
    "exp 1e400": lambda: signed(json.dumps(good_claims()).replace('"exp": ', '"exp": 1e400, "x": ').encode()),
    "exp a 400-digit integer": lambda: signed(good_claims(exp=10 ** 400)),
    "exp negative": lambda: signed(good_claims(exp=-1)),
    "iat missing (the lifetime cap needs it)": lambda: signed(good_claims(iat=DROP)),
    "iat a string": lambda: signed(good_claims(iat="0")),
    "iat false": lambda: signed(good_claims(iat=False)),
    "nbf a string": lambda: signed(good_claims(nbf="0")),
    "nbf true": lambda: signed(good_claims(nbf=True)),
    "lifetime over the cap": lambda: signed(good_claims(exp=int(datetime.now(UTC).timestamp()) + 90_000)),
    "exp before iat": lambda: signed(good_claims(iat=int(datetime.now(UTC).timestamp()) + 20,
                                                 exp=int(datetime.now(UTC).timestamp()) + 10)),
    "iss a list": lambda: signed(good_claims(iss=[DEV_ISSUER])),
    "iss missing": lambda: signed(good_claims(iss=DROP)),
    "aud a number": lambda: signed(good_claims(aud=7)),
    "aud a list with a number": lambda: signed(good_claims(aud=["maillage", 7])),
    "aud an object": lambda: signed(good_claims(aud={"maillage": True})),
    "sub a number": lambda: signed(good_claims(sub=8)),
    "sub empty": lambda: signed(good_claims(sub="")),
    "sub missing": lambda: signed(good_claims(sub=DROP)),
    "rpps a number": lambda: signed(good_claims(rpps=10003498127)),
    "rpps an object": lambda: signed(good_claims(rpps={"a": 1})),
    "SubjectNameID a list": lambda: signed(good_claims(rpps=DROP, SubjectNameID=["810003498127"])),
    "finess a list": lambda: signed(good_claims(finess=["750712184"])),
    "svc an object": lambda: signed(good_claims(rpps=DROP, svc={"name": "directory"})),
    "jti an object": lambda: signed(good_claims(jti={"a": 1})),
    "roles a string": lambda: signed(good_claims(roles="admin")),
    "roles with a number": lambda: signed(good_claims(roles=["admin", 1])),
}


@pytest.mark.parametrize("name", FORGERIES)
def test_every_forgery_is_refused_with_401(auth: Authenticator, name: str) -> None:
    token = FORGERIES[name]()
    with pytest.raises(Unauthorized) as caught:
        auth.authenticate(f"Bearer {token}")
    assert caught.value.status == 401 and caught.value.message.endswith(".")
    assert "\n" not in caught.value.message and len(caught.value.message) < 200


def test_the_key_decides_the_algorithm(auth: Authenticator) -> None:
    message = _refusal(auth, _rs256_header_with_the_ec_kid())
    assert message == "The token's algorithm is not the one of the issuer's key it names."
    ps256 = Authenticator(DEV_ISSUER, "maillage", StaticJwks({"keys": [jwk_of(RSA_KEY, alg="PS256")]}))
    assert ps256.authenticate(f"Bearer {signed(good_claims(), key=RSA_KEY, alg='PS256')}").rpps == RPPS
    assert "algorithm is not the one" in _refusal(ps256, signed(good_claims(), key=RSA_KEY, alg="RS256"))


def test_the_lifetime_is_capped(auth: Authenticator) -> None:
    now = int(datetime.now(UTC).timestamp())
    assert _refusal(auth, signed(good_claims(iat=now, exp=now + 3601))) == (
        "The token lives longer than the 3600 seconds this platform accepts.")
    assert auth.authenticate(f"Bearer {signed(good_claims(iat=now, exp=now + 3600))}").rpps == RPPS
    uncapped = Authenticator(DEV_ISSUER, "maillage", StaticJwks({"keys": [EC_JWK]}), max_lifetime_seconds=None)
    assert uncapped.authenticate(f"Bearer {signed(good_claims(iat=DROP, exp=now + 86_400))}").rpps == RPPS
    assert "'iat'" in _refusal(auth, signed(good_claims(iat=DROP)))


def test_the_lifetime_cap_is_a_setting(tmp_path: Path) -> None:
    default = read_settings({}).auth_max_token_lifetime_seconds
    assert default == 3600  # a setting's value, not a measured time
    settings = read_settings({"MAILLAGE_AUTH_MAX_TOKEN_LIFETIME_SECONDS": "600", "MAILLAGE_VAR_DIR": str(tmp_path)})
    cap = settings.auth_max_token_lifetime_seconds
    assert cap == 600
    with pytest.raises(SettingsError, match="MAILLAGE_AUTH_MAX_TOKEN_LIFETIME_SECONDS"):
        read_settings({"MAILLAGE_AUTH_MAX_TOKEN_LIFETIME_SECONDS": "soon"})
    from services.shared.auth import authenticator_from_settings
    auth = authenticator_from_settings(settings)
    cap = auth.max_lifetime_seconds
    assert cap == 600
    issuer = DevIssuer(tmp_path)
    at_the_cap, past_it = issuer.mint(rpps=RPPS, ttl_seconds=600), issuer.mint(rpps=RPPS, ttl_seconds=601)
    assert auth.authenticate(f"Bearer {at_the_cap}").rpps == RPPS
    assert "lives longer" in _refusal(auth, past_it)


def test_symmetric_mismatched_and_unusable_keys_are_not_published() -> None:
    keys = parse_jwks({"keys": [
        {"kty": "oct", "k": b64(b"secret"), "kid": "hmac", "alg": "HS256"},
        {**EC_JWK, "kid": "ec-as-384", "alg": "ES384"},
        {**RSA_JWK, "kid": "rsa-as-hs", "alg": "HS256"},
        {**EC_JWK, "kid": "enc", "use": "enc"},
        {**EC_JWK, "kid": 7},
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "broken"},
        "not a key",
        EC_JWK, RSA_JWK,
    ]})
    assert {kid: key.algorithm_name for kid, key in keys.items()} == {
        EC_JWK["kid"]: "ES256", RSA_JWK["kid"]: "RS256"}
    assert parse_jwks({"keys": "none"}) == {}


def _refusal(auth: Authenticator, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        auth.authenticate(f"Bearer {token}")
    return caught.value.message


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
CLAIM_NAMES = st.sampled_from(["iss", "aud", "sub", "exp", "iat", "nbf", "rpps", "SubjectNameID", "finess",
                               "svc", "roles", "jti"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(CLAIM_NAMES, JSON_VALUES, max_size=4), dropped=st.sets(CLAIM_NAMES, max_size=3))
def test_signed_tokens_with_any_claim_values_never_raise_anything_but_401(
        auth: Authenticator, changes: dict[str, Any], dropped: set[str]) -> None:
    claims = good_claims(**changes)
    for name in dropped:
        claims.pop(name, None)
    try:
        principal = auth.authenticate(f"Bearer {signed(claims)}")
    except Unauthorized as refused:
        assert refused.status == 401 and refused.message
    else:  # whatever passed names someone, as the claims the test kept say
        assert principal.has_identity and principal.subject == claims["sub"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "jku"]), JSON_VALUES, max_size=4),
       payload=st.binary(max_size=64), signature=st.binary(max_size=80))
def test_any_header_payload_and_signature_bytes_give_401(
        auth: Authenticator, header: dict[str, Any], payload: bytes, signature: bytes) -> None:
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {raw(json.dumps(header), payload, signature)}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.text(min_size=1, max_size=300).filter(lambda t: t.strip() and " " not in t.strip()))
def test_any_text_as_a_token_gives_401(auth: Authenticator, token: str) -> None:
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {token}")
