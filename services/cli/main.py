"""The `maillage` command: run the platform and operate it."""
import warnings

# eventlet announces its maintenance mode on import; we know (docs/architecture.md).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import typer

from services.cli import dlq
from services.cli.migrate import migrate
from services.cli.up import up
from services.shared.cli_errors import guarded

app = typer.Typer(
    help="Maillage: secure messaging, DMP feeding, directory and city-hospital notifications for a CPTS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(up)
app.command()(migrate)
app.add_typer(dlq.app, name="dlq")

# Each of these modules adds its own commands with `register(app)`.
COMMAND_MODULES: list[str] = ["services.cli.token", "services.directory.cli", "services.messaging.cli"]
for module in COMMAND_MODULES:
    importlib.import_module(module).register(app)


@app.command()
def version() -> None:
    """Print the installed Maillage version."""
    try:
        typer.echo(f"maillage {package_version('maillage')}")
    except PackageNotFoundError:
        typer.echo("maillage (not installed as a package)")


def run() -> None:
    guarded(app)
