"""`maillage migrate`: every built service's database (or --only some) to its latest Alembic revision.

What a Helm pre-install/pre-upgrade Job runs before the pods start; `maillage up` does the same at start.
On PostgreSQL each service migrates under an advisory lock (services.shared.db.alembic_env): run twice or
beside a starting pod, the second run finds the work done and changes nothing.
"""
from __future__ import annotations

import typer

from services.cli import registry
from services.shared.db.migrations import migrate as migrate_service
from services.shared.settings import read_settings

UNKNOWN_SERVICE = 2  # exit status of a usage error, as typer's own
OnlyOption = typer.Option(
    None, "--only", metavar="SERVICE",
    help="A service to migrate (repeat it, or separate names with commas); default: every built service.")


def migrate(only: list[str] | None = OnlyOption) -> None:
    """Migrate every built service's database to head; one line per service: from → to revision."""
    wanted = [name.strip() for value in only or () for name in value.split(",") if name.strip()]
    try:
        names = registry.resolve(wanted or None)
    except ValueError as exc:
        typer.echo(f"maillage: {exc}", err=True)
        raise typer.Exit(UNKNOWN_SERVICE) from None
    settings = read_settings()
    for name in names:
        before, after = migrate_service(name, settings.database_url_for(name))
        typer.echo(f"{name}: {before or 'empty'} → {after}" + (" (already at head)" if before == after else ""))
