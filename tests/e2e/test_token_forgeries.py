"""Forged bearer tokens against the real routes of `maillage up`: 401 with a Bearer challenge, never 500."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.conftest import Platform

pytestmark = pytest.mark.e2e
RPPS = "10001045367"
ROUTES = ("/fhir/Practitioner?family=martin", f"/api/v1/mailboxes/{RPPS}@test.mssante.fr/messages")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {"iss": "https://auth.maillage.localhost/dev", "aud": "maillage", "sub": f"8{RPPS}", "rpps": RPPS,
            "iat": now, "exp": now + 300, **changes}


def _forgeries(platform: Platform) -> dict[str, str]:
    kid = platform.issuer.jwks()["keys"][0]["kid"]  # the dev issuer's key: EC P-256, ES256
    attacker = rsa.generate_private_key(65537, 2048)
    signing_key = platform.issuer._signing_key()
    return {
        "RS256 header with the EC key's kid": jwt.encode(_claims(), attacker, algorithm="RS256",
                                                         headers={"kid": kid}),
        "alg none": jwt.encode(_claims(), None, algorithm="none", headers={"kid": kid}),
        "HS256 keyed with the public key": jwt.encode(_claims(), platform.issuer.jwks()["keys"][0]["x"],
                                                      algorithm="HS256", headers={"kid": kid}),
        "exp a string": jwt.encode(_claims(exp="9999999999"), signing_key, algorithm="ES256",
                                   headers={"kid": kid}),
        "exp a boolean": jwt.encode(_claims(exp=True), signing_key, algorithm="ES256", headers={"kid": kid}),
        "lifetime of a year": jwt.encode(_claims(exp=int(datetime.now(UTC).timestamp()) + 365 * 86400),
                                         signing_key, algorithm="ES256", headers={"kid": kid}),
        "header not JSON": f"{_b64(b'{not json')}.{_b64(json.dumps(_claims()).encode())}.{_b64(b'sig')}",
        "kid an object": f"{_b64(json.dumps({'alg': 'ES256', 'kid': {'a': 1}}).encode())}.{_b64(b'{}')}.{_b64(b's')}",
        "huge": "a" * 20_000 + ".b.c",
    }


def test_forged_tokens_are_refused_with_401_on_fhir_and_api_routes(platform: Platform) -> None:
    forgeries = _forgeries(platform)
    with httpx.Client(base_url=platform.base, timeout=30) as client:
        for name, token in forgeries.items():
            for route in ROUTES:
                response = client.get(route, headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 401, (name, route, response.status_code)
                assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"'), name
                if route.startswith("/fhir"):
                    issue = response.json()["issue"][0]
                    assert (issue["severity"], issue["code"]) == ("error", "login"), name
                else:
                    assert response.headers["content-type"] == "application/problem+json", name
                    assert response.json()["status"] == 401, name
        genuine = platform.issuer.mint(rpps=RPPS)
        assert client.get(ROUTES[0], headers={"Authorization": f"Bearer {genuine}"}).status_code == 200
