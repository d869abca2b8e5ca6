"""Alembic environment of the messaging database."""
from services.messaging.adapters.tables import metadata
from services.shared.db.alembic_env import run_migrations

run_migrations(metadata)
