"""The ``token`` command prints a dev-issuer token, or one plain sentence on error."""
from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from services.cli.token import register
from services.shared.auth import authenticator_from_settings
from services.shared.settings import Settings

RPPS = "10003498127"
DEV_ENV: dict[str, str | None] = {
    "MAILLAGE_ENV": "development", "MAILLAGE_AUTH_ISSUER": None, "MAILLAGE_AUTH_JWKS_URL": None,
    "MAILLAGE_AUTH_AUDIENCE": None,
}


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keep typer in command-group mode, as the real CLI is."""

    register(app)
    return app


def run(app: typer.Typer, args: list[str], env: dict[str, str | None] = DEV_ENV) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["token", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_prints_a_token_the_platform_accepts(app: typer.Typer, tmp_path: Path) -> None:
    code, out, err = run(app, ["--rpps", RPPS, "--role", "doctor", "--role", "author",
                               "--var-dir", str(tmp_path)])
    assert (code, err) == (0, "")
    token = out.strip()
    assert out == token + "\n" and token.count(".") == 2
    principal = authenticator_from_settings(Settings(var_dir=tmp_path)).authenticate(f"Bearer {token}")
    assert principal.rpps == RPPS and principal.roles == frozenset({"doctor", "author"})


def test_service_and_establishment_tokens(app: typer.Typer, tmp_path: Path) -> None:
    code, out, _ = run(app, ["--service", "coordination", "--finess", "750712184", "--ttl", "60",
                             "--var-dir", str(tmp_path)])
    principal = authenticator_from_settings(Settings(var_dir=tmp_path)).authenticate(f"Bearer {out.strip()}")
    assert code == 0 and (principal.service, principal.finess) == ("coordination", "750712184")


@pytest.mark.parametrize(("args", "sentence"), [
    (["--rpps", "10003498128"], "The RPPS number fails its check digit (Luhn)."),
    (["--finess", "12"], "A FINESS number must be 9 letters or digits."),
    (["--role", "doctor"], "Say who the token is for: give --rpps, --finess, --service or --role admin."),
    (["--rpps", RPPS, "--ttl", "-5"], "The token lifetime must be a positive number of seconds, not -5."),
    (["--rpps", RPPS, "--ttl", "3601"], "The platform refuses tokens living longer than 3600 seconds "
                                        "(MAILLAGE_AUTH_MAX_TOKEN_LIFETIME_SECONDS); ask for less with --ttl."),
])
def test_user_errors_are_one_sentence(app: typer.Typer, tmp_path: Path, args: list[str], sentence: str) -> None:
    code, out, err = run(app, [*args, "--var-dir", str(tmp_path)])
    assert (code, out, err) == (1, "", f"maillage: {sentence}\n")


def test_refuses_where_an_external_issuer_is_configured(app: typer.Typer, tmp_path: Path) -> None:
    env = {**DEV_ENV, "MAILLAGE_ENV": "production", "MAILLAGE_AUTH_ISSUER": "https://psc.example",
           "MAILLAGE_AUTH_JWKS_URL": "https://psc.example/jwks"}
    code, out, err = run(app, ["--rpps", RPPS, "--var-dir", str(tmp_path)], env)
    assert (code, out) == (1, "")
    assert err.startswith("maillage: There is no dev issuer here") and err.count("\n") == 1
    assert not (tmp_path / "dev-issuer").exists()


def test_refuses_production_settings_with_the_dev_issuer(app: typer.Typer, tmp_path: Path) -> None:
    code, out, err = run(app, ["--rpps", RPPS, "--var-dir", str(tmp_path)], {**DEV_ENV, "MAILLAGE_ENV": "production"})
    assert (code, out) == (1, "")
    assert err == "maillage: MAILLAGE_AUTH_ISSUER must name the production issuer when MAILLAGE_ENV=production.\n"
