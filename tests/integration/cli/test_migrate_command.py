"""`maillage migrate` on SQLite and PostgreSQL: every built service to head, a no-op the second time, plain errors."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from services.shared.db.migrations import alembic_config, current_revision
from services.shared.registry import built_services

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
SERVICES = list(built_services())


def maillage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", "migrate", *args], cwd=REPO, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", **env}, timeout=120)


def head(service: str, url: str) -> str:
    head_revision = ScriptDirectory.from_config(alembic_config(service, url)).get_current_head()
    assert head_revision is not None
    return head_revision


@pytest.fixture
def databases(make_database: Callable[[str], str], tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    urls = {service: make_database(f"migrate_{service}") for service in SERVICES}
    env = {f"MAILLAGE_{service.upper()}_DATABASE_URL": url for service, url in urls.items()}
    return urls, env | {"MAILLAGE_VAR_DIR": str(tmp_path / "var")}


def test_every_built_service_goes_to_head_once_then_nothing_changes(
        databases: tuple[dict[str, str], dict[str, str]]) -> None:
    urls, env = databases
    first = maillage(env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [f"{service}: empty → {head(service, url)}" for service, url in urls.items()]
    for service, url in urls.items():
        assert current_revision(url) == head(service, url)
        engine = sa.create_engine(url)
        try:
            assert set(sa.inspect(engine).get_table_names()) - {"alembic_version"}  # the service's tables too
        finally:
            engine.dispose()

    again = maillage(env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [f"{service}: {head(service, url)} → {head(service, url)} (already at head)"
                                         for service, url in urls.items()]


def test_only_migrates_the_services_named(databases: tuple[dict[str, str], dict[str, str]]) -> None:
    urls, env = databases
    [first, *others] = SERVICES
    result = maillage(env, "--only", first)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{first}: empty → {head(first, urls[first])}"]
    assert all(current_revision(urls[service]) is None for service in others)


def test_an_unknown_service_is_one_sentence_and_exit_2(databases: tuple[dict[str, str], dict[str, str]]) -> None:
    urls, env = databases
    result = maillage(env, "--only", f"{SERVICES[0]},billing")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"maillage: Unknown service 'billing': choose among {', '.join(SERVICES)}."]
    assert all(current_revision(url) is None for url in urls.values())  # nothing migrated


def test_an_unreachable_database_is_one_sentence_and_a_failure(tmp_path: Path) -> None:
    result = maillage({"DATABASE_URL": "postgresql://maillage@127.0.0.1:1/maillage"}, "--only", SERVICES[0])
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("maillage: the database cannot be used (") and line.endswith("check DATABASE_URL.")
