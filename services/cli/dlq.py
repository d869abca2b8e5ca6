"""`maillage dlq list|show|replay|purge`: dead letters, metadata only — never the health content."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from services.cli.broker import catalogue_subscriptions, open_broker
from services.shared.bus.dlq import DeadLetterStore
from services.shared.cli_errors import UserError
from services.shared.settings import read_settings

app = typer.Typer(help="List, inspect, replay and purge dead letters.", no_args_is_help=True)
QueueOption = typer.Option(
    None, "--queue", "-q", help="A work queue (repeatable); default: every queue of the catalogue."
)


def _store_and_queues(queues: list[str] | None) -> tuple[DeadLetterStore, list[str]]:
    settings = read_settings()
    open_broker(settings, "maillage-dlq-check").close()  # a clear sentence when the broker is down
    return DeadLetterStore(settings.amqp_uri), list(queues or [s.queue for s in catalogue_subscriptions()])


@app.command("list")
def list_(queue: list[str] | None = QueueOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """List dead letters: id, queue, event type, attempts and error."""
    store, queues = _store_and_queues(queue)
    letters = store.list(queues)
    if as_json:
        typer.echo(json.dumps([letter.as_dict() for letter in letters], indent=2))
        return
    table = Table("id", "queue", "type", "attempts", "error", "failed at")
    for letter in letters:
        table.add_row(
            letter.message_id,
            letter.queue,
            letter.event_type,
            str(letter.attempts),
            f"{letter.error_type.rsplit('.', 1)[-1]}: {letter.error}"[:80],
            letter.failed_at,
        )
    Console().print(table if letters else "No dead letters.")


@app.command()
def show(message_id: str, queue: list[str] | None = QueueOption) -> None:
    """Show one dead letter's metadata (the event body stays encrypted and unprinted)."""
    store, queues = _store_and_queues(queue)
    letter = store.show(message_id, queues)
    if letter is None:
        raise UserError(f"No dead letter with id {message_id}.")
    typer.echo(json.dumps(letter.as_dict(), indent=2))


@app.command()
def replay(
    message_id: str | None = typer.Argument(None),
    all_: bool = typer.Option(False, "--all", help="Replay every dead letter of the selected queues."),
    queue: list[str] | None = QueueOption,
) -> None:
    """Put dead letters back on their queue, with a fresh attempt count."""
    if (message_id is None) == (not all_):
        raise UserError("Name one dead letter id, or pass --all.")
    store, queues = _store_and_queues(queue)
    count = store.replay(message_id, queues)
    if message_id and count == 0:
        raise UserError(f"No dead letter with id {message_id}.")
    typer.echo(f"Replayed {count} dead letter(s).")


@app.command()
def purge(
    message_id: str | None = typer.Argument(None),
    all_: bool = typer.Option(False, "--all"),
    yes: bool = typer.Option(False, "--yes", help="Confirm: purged dead letters are gone for good."),
    queue: list[str] | None = QueueOption,
) -> None:
    """Delete dead letters for good (requires --yes)."""
    if (message_id is None) == (not all_):
        raise UserError("Name one dead letter id, or pass --all.")
    if not yes:
        raise UserError("Purging deletes events for good: add --yes to confirm.")
    store, queues = _store_and_queues(queue)
    count = store.purge(message_id, queues)
    if message_id and count == 0:
        raise UserError(f"No dead letter with id {message_id}.")
    typer.echo(f"Purged {count} dead letter(s).")
