"""Alembic migrations per service, run programmatically (``maillage migrate``, ``maillage up``, tests)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from services.shared.db.engine import ensure_database

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
    """Bring a service's database to ``revision``, creating the PostgreSQL database if needed."""
    ensure_database(url)
    command.upgrade(alembic_config(service, url), revision)
