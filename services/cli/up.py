"""`maillage up`: migrate, declare the bus topology, run the services, stop cleanly on SIGTERM/SIGINT."""
from __future__ import annotations

import signal

import eventlet
import typer
from eventlet.event import Event
from nameko.runners import ServiceRunner
from rich.console import Console

from services.cli import registry
from services.cli.broker import declare_platform_topology
from services.cli.errors import UserError
from services.shared.db.migrations import upgrade
from services.shared.logging import configure_logging
from services.shared.nameko_ext.config import container_config
from services.shared.settings import read_settings

console = Console(stderr=True)


def up(
    only: str | None = typer.Option(None, "--only", help="Comma-separated services to run, e.g. directory,messaging."),
) -> None:
    """Run the platform: every service (or --only some) in this process, one HTTP base URL."""
    settings = read_settings()
    configure_logging("platform", settings)
    try:
        names = registry.resolve([n.strip() for n in only.split(",") if n.strip()] if only else None)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not names:
        raise UserError("No service is available to run.")
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        upgrade(name, settings.database_url_for(name))
    declare_platform_topology(settings)
    runner = ServiceRunner(container_config(settings))
    for name in names:
        runner.add_service(registry.load(name))
    stopping = Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stopping.ready():
            return
        console.print(f"[yellow]{signal.Signals(signum).name}: stopping Maillage…[/]")
        stopping.send(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.start()
    console.print(f"[green]Maillage is up[/] on http://{settings.http_address} — services: {', '.join(names)}")
    stopping.wait()
    stopper = eventlet.spawn(runner.stop)
    try:
        with eventlet.Timeout(30):
            stopper.wait()
    except eventlet.Timeout:
        runner.kill()
    console.print("Maillage stopped.")
