"""Command-line errors of `maillage` and the services' sub-commands: one plain sentence on stderr, exit 1.

A user error is never a traceback. Here, in shared, so that services' ``cli.py`` need not import the CLI.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import sqlalchemy.exc
import typer

from services.shared.errors import MaillageError
from services.shared.settings import SettingsError


class UserError(Exception):
    """A problem the user can fix; its message is the sentence shown."""


EXPECTED = (UserError, MaillageError, SettingsError, FileNotFoundError, PermissionError, ValueError)


def fail(message: str) -> NoReturn:
    typer.echo(f"maillage: {message}", err=True)
    raise typer.Exit(1)


def guarded(main: Callable[[], Any]) -> None:
    """Run the typer app, turning expected errors into one sentence and exit status 1."""
    try:
        main()
    except EXPECTED as exc:
        message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
        if isinstance(exc, FileNotFoundError) and exc.filename:
            message = f"No such file: {exc.filename}"
        print(f"maillage: {message}", file=sys.stderr)
        sys.exit(1)
    except sqlalchemy.exc.OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else exc.__class__.__name__
        print(f"maillage: the database cannot be used ({reason}); check DATABASE_URL.", file=sys.stderr)
        sys.exit(1)
    except ConnectionError as exc:
        print(f"maillage: cannot reach a required service ({exc.__class__.__name__}: {exc}).", file=sys.stderr)
        sys.exit(1)
