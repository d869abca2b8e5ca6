"""Alembic migrations per service, run programmatically (``maillage migrate``, ``maillage up``, tests)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from services.shared.db.engine import ensure_database, make_engine

SERVICES_DIR = Path(__file__).resolve().parents[2]


def alembic_config(service: str, url: str) -> Config:
    location = SERVICES_DIR / service / "migrations"
    if not location.is_dir():
        raise FileNotFoundError(f"service {service!r} has no migrations folder at {location}")
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Bring a service's database to ``revision``, creating the PostgreSQL database if needed.

    On PostgreSQL the migrations run under the session-level advisory lock of ``alembic_env``: two pods (or
    a ``maillage migrate`` Job and a starting pod) never migrate at once; the second finds the work done.
    """
    ensure_database(url)
    command.upgrade(alembic_config(service, url), revision)


def current_revision(url: str) -> str | None:
    """The Alembic revision a database is at; None for a database never migrated (or not created yet)."""
    ensure_database(url)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def migrate(service: str, url: str) -> tuple[str | None, str | None]:
    """Bring a service's database to head: its revision (None: empty) before and after."""
    before = current_revision(url)
    upgrade(service, url)
    return before, current_revision(url)
