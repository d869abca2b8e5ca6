"""The body of every service's ``migrations/env.py``: online migrations under a lock, SQLite-friendly."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from services.shared.db.engine import make_engine


def run_migrations(target_metadata: sa.MetaData) -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Two pods starting at once must not both migrate: a session-level advisory lock.
                connection.execute(sa.text("SELECT pg_advisory_lock(hashtext('maillage-migrations'))"))
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()
