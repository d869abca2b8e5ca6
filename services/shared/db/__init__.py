"""Storage: one database per service through SQLAlchemy 2, SQLite by default, PostgreSQL in production."""
from services.shared.db.engine import ensure_database, make_engine, redact_url
from services.shared.db.tables import bus_tables
from services.shared.db.uow import UnitOfWork

__all__ = ["UnitOfWork", "bus_tables", "ensure_database", "make_engine", "redact_url"]
