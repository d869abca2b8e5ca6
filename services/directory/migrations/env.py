"""Alembic environment of the directory service."""
from services.directory.adapters.tables import metadata
from services.shared.db.alembic_env import run_migrations

run_migrations(metadata)
