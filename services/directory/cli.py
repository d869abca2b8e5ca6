"""The ``maillage directory`` commands: import an Annuaire Santé extract, write a synthetic one."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TextIO

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from services.directory.adapters.annuaire import Rejection
from services.directory.adapters.tables import BUS_TABLES
from services.directory.importer import ImportReport, import_extract
from services.directory.progress_bar import ProgressBar
from services.directory.synth import write_extract
from services.shared.cli_errors import fail
from services.shared.db import UnitOfWork, make_engine, redact_url
from services.shared.db.migrations import upgrade
from services.shared.errors import MaillageError
from services.shared.settings import SettingsError, read_settings

_SHOWN_REJECTIONS = 10


def register(app: typer.Typer) -> None:
    """Add the ``directory`` sub-commands to ``app``."""
    directory = typer.Typer(help="The directory: Annuaire Santé imports.", no_args_is_help=True)
    app.add_typer(directory, name="directory")
    directory.command("import")(import_command)
    directory.command("synth")(synth_command)


def import_command(
    path: Annotated[Path, typer.Argument(help="A PS_LibreAcces_Personne_activite or MSSanté extract.")],
    rejects: Annotated[Path | None, typer.Option(help="Write every rejected line (number, reason) here.")] = None,
    allow_mass_deactivation: Annotated[bool, typer.Option(
        "--allow-mass-deactivation",
        help="Go ahead even if the extract lacks over 20 % of the active records.")] = False,
) -> None:
    """Import an Annuaire Santé extract: new rows created, changed ones updated, lost ones deactivated."""
    if not path.is_file():
        fail(f"No extract at {path}: give the path of a file.")
    try:
        url = read_settings().database_url_for("directory")
    except SettingsError as error:
        fail(str(error))
    report = _run_import(path, url, rejects, allow_mass_deactivation)
    _print_report(report, rejects)


def _run_import(path: Path, url: str, rejects: Path | None, allow_mass_deactivation: bool) -> ImportReport:
    try:
        upgrade("directory", url)
        engine = make_engine(url, pool_size=1)
    except sa.exc.SQLAlchemyError:
        fail(f"The directory database at {redact_url(url)} cannot be opened or migrated.")
    sink = open(rejects, "w", encoding="utf-8") if rejects else None  # noqa: SIM115 - closed below
    try:
        with ProgressBar(f"Importing {path.name}") as bar:
            return import_extract(
                path, uow=lambda: _unit_of_work(engine),
                progress=lambda p: bar.update(p.bytes_read, p.bytes_total, p.lines),
                on_rejection=_writer(sink) if sink else None,
                allow_mass_deactivation=allow_mass_deactivation,
            )
    except MaillageError as error:
        fail(error.message)
    except OSError as error:
        fail(f"Cannot read {path} ({error.strerror or type(error).__name__}); nothing was imported.")
    except sa.exc.OperationalError as error:
        if "lock" in str(error.orig).lower():
            fail("Another import or writer holds the directory database; nothing was imported, try again.")
        fail(f"The directory database refused the import ({type(error).__name__}); nothing was imported.")
    except sa.exc.SQLAlchemyError as error:
        # The driver's message may quote row values: only its kind is shown.
        fail(f"The directory database refused the import ({type(error).__name__}); nothing was imported.")
    except Exception as error:  # noqa: BLE001 - a bug: still one sentence, no row values, no traceback
        fail(f"The import failed unexpectedly ({type(error).__name__}); nothing was imported.")
    finally:
        if sink is not None:
            sink.close()
        _release(engine)


def _writer(sink: TextIO) -> Callable[[Rejection], None]:
    def write(rejection: Rejection) -> None:
        sink.write(f"{rejection.line}\t{rejection.reason}\n")
    return write


def _unit_of_work(engine: sa.Engine) -> UnitOfWork:
    return UnitOfWork(engine, service="directory", outbox=BUS_TABLES[0], processed=BUS_TABLES[1])


def _release(engine: sa.Engine) -> None:
    if engine.dialect.name == "sqlite":
        # A first load leaves a write-ahead log as large as the data: give the space back.
        raw = engine.raw_connection()
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    engine.dispose()


def _print_report(report: ImportReport, rejects: Path | None) -> None:
    console = Console()
    table = Table(title=f"{report.file_name} ({report.kind}, {report.encoding})", show_header=False)
    for name, value in report.counts().items():
        table.add_row(name, f"{value:,}")
    rate = report.rows / report.seconds if report.seconds else 0.0
    table.add_row("seconds", f"{report.seconds:.1f} ({rate:,.0f} rows/s)")
    console.print(table)
    for rejection in report.rejections[:_SHOWN_REJECTIONS]:
        console.print(f"line {rejection.line}: {rejection.reason}", highlight=False)
    hidden = report.rejected - min(report.rejected, _SHOWN_REJECTIONS)
    if hidden:
        where = f"all of them are in {rejects}" if rejects else "use --rejects FILE to keep them all"
        console.print(f"… and {hidden:,} more rejected lines ({where}).", highlight=False)


def synth_command(
    rows: Annotated[int, typer.Option(min=0, help="How many data lines (activities) to write.")],
    out: Annotated[Path, typer.Option(help="Where to write the extract.")],
    seed: Annotated[int, typer.Option(help="The same seed writes the same file.")] = 0,
) -> None:
    """Write a synthetic PS_LibreAcces_Personne_activite extract (52 columns, real codes)."""
    started = time.monotonic()
    try:
        with ProgressBar(f"Writing {out.name}") as bar:
            written = write_extract(out, rows, seed, progress=lambda n: bar.update(n, rows, n))
    except OSError as error:
        fail(f"Cannot write {out} ({error.strerror or type(error).__name__}).")
    typer.echo(f"Wrote {written:,} lines to {out} in {time.monotonic() - started:.1f} s.")

