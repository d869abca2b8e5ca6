"""Real databases for tests: a SQLite file, and PostgreSQL when MAILLAGE_TEST_DATABASES names it."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from services.shared.db.engine import drop_database, ensure_database

POSTGRES = os.environ.get("MAILLAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def backends() -> list[str]:
    return [b.strip() for b in os.environ.get("MAILLAGE_TEST_DATABASES", "sqlite").split(",") if b.strip()]


def new_database(backend: str, folder: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / (name + '.db')}"
    if backend == "postgresql":
        url = POSTGRES.rsplit("/", 1)[0] + f"/mt_{name}_{secrets.token_hex(4)}"
        ensure_database(url)
        return url
    raise ValueError(f"unknown test database backend {backend!r}")


def remove_database(url: str) -> None:
    drop_database(url)
