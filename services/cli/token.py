"""The ``token`` command: mint a bearer token from the local dev issuer."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.shared.auth import ADMIN_ROLE, DevIssuer
from services.shared.cli_errors import fail
from services.shared.errors import Invalid
from services.shared.settings import DEV_ISSUER, Settings, SettingsError, read_settings


def mint_token(settings: Settings, *, rpps: str | None, finess: str | None, roles: list[str],
               service: str | None, ttl: int) -> str:
    """A dev-issuer token for this environment; raises Invalid or SettingsError with one sentence."""
    if settings.production or settings.auth_jwks_url or settings.auth_issuer != DEV_ISSUER:
        raise SettingsError("There is no dev issuer here: the platform is configured for an external "
                            "issuer, so ask that issuer for a token.")
    if not (rpps or finess or service or ADMIN_ROLE in roles):
        raise Invalid("Say who the token is for: give --rpps, --finess, --service or --role admin.")
    if ttl > settings.auth_max_token_lifetime_seconds:
        raise Invalid(f"The platform refuses tokens living longer than {settings.auth_max_token_lifetime_seconds} "
                      "seconds (MAILLAGE_AUTH_MAX_TOKEN_LIFETIME_SECONDS); ask for less with --ttl.")
    issuer = DevIssuer(settings.var_dir, issuer=settings.auth_issuer, audience=settings.auth_audience)
    return issuer.mint(rpps=rpps, finess=finess, roles=roles, service=service, ttl_seconds=ttl)


def register(app: typer.Typer) -> None:
    """Add the ``token`` command to ``app``."""

    @app.command("token")
    def token(
        rpps: Annotated[str | None, typer.Option(help="RPPS number of the professional.")] = None,
        finess: Annotated[str | None, typer.Option(help="FINESS number of the establishment.")] = None,
        role: Annotated[list[str] | None, typer.Option(help="A role; repeat for several.")] = None,
        service: Annotated[str | None, typer.Option(help="Service identity (svc claim).")] = None,
        ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
        var_dir: Annotated[Path | None, typer.Option(help="Where the dev issuer key lives.")] = None,
    ) -> None:
        """Print a bearer token signed by the local dev issuer (development and tests only)."""
        try:
            settings = read_settings()
            if var_dir is not None:
                settings = settings.with_overrides(var_dir=var_dir)
            minted = mint_token(settings, rpps=rpps, finess=finess, roles=role or [],
                                service=service, ttl=ttl)
        except (Invalid, SettingsError) as error:
            fail(str(error))
        typer.echo(minted)
