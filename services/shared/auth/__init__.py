"""Bearer-token authentication and the authorisation checks every entrypoint uses."""
from services.shared.auth.authenticator import Authenticator, authenticator_from_settings
from services.shared.auth.dev_issuer import DevIssuer
from services.shared.auth.jwks import ALGORITHMS, JwksProvider, RemoteJwks, StaticJwks, parse_jwks, thumbprint
from services.shared.auth.principal import (
    ADMIN_ROLE,
    Principal,
    require_finess,
    require_role,
    require_rpps,
)

__all__ = [
    "ADMIN_ROLE",
    "ALGORITHMS",
    "Authenticator",
    "DevIssuer",
    "JwksProvider",
    "Principal",
    "RemoteJwks",
    "StaticJwks",
    "authenticator_from_settings",
    "parse_jwks",
    "require_finess",
    "require_role",
    "require_rpps",
    "thumbprint",
]
