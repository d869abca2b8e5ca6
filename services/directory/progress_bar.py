"""A rich progress bar with lines per second, drawn on stderr and refreshed by its caller."""
from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

_REFRESH_SECONDS = 0.2


class ProgressBar:
    """Use as ``with ProgressBar("Importing x") as bar: bar.update(done, total, lines)``.

    It appears at the first update (an error found first is shown alone) and refreshes only
    when updated: under eventlet a refresh thread would never get to run.
    """

    def __init__(self, description: str) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[lines]:>12,} lines"), TextColumn("{task.fields[rate]:>9,.0f} lines/s"),
            TimeElapsedColumn(), console=Console(stderr=True), auto_refresh=False, transient=False)
        self._task = self._progress.add_task(description, total=None, lines=0, rate=0.0)
        self._started = self._drawn = 0.0
        self._shown = False

    def __enter__(self) -> ProgressBar:
        self._started = time.monotonic()
        return self

    def update(self, done: int, total: int, lines: int) -> None:
        if not self._shown:
            self._progress.start()
            self._shown = True
        now = time.monotonic()
        rate = lines / (now - self._started) if now > self._started else 0.0
        self._progress.update(self._task, completed=done, total=total or None, lines=lines, rate=rate)
        if now - self._drawn >= _REFRESH_SECONDS or done >= total:
            self._progress.refresh()
            self._drawn = now

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._shown:
            self._progress.refresh()
            self._progress.stop()
