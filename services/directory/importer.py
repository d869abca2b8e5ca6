"""The directory import use case: one Annuaire Santé extract in, one transaction, one event out."""
from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.directory.adapters.activity_store import ActivityStore
from services.directory.adapters.annuaire import Rejection, open_extract
from services.directory.adapters.annuaire_layout import Kind
from services.directory.adapters.chunks import Chunk
from services.directory.adapters.mailbox_store import MailboxStore
from services.directory.adapters.pipeline import read_chunks
from services.directory.adapters.stores import Counts, rollback_journal
from services.directory.adapters.tables import activity, import_run
from services.shared.contracts.directory_events import DirectoryImported, ImportKind
from services.shared.db import UnitOfWork
from services.shared.errors import Unprocessable

# A truncated download must not empty the directory: above this share of the active records
# (and this many), an import that would deactivate them is refused unless allowed.
MASS_DEACTIVATION_SHARE = 0.2
MASS_DEACTIVATION_FLOOR = 100
# Per kind of extract, what writes it (and gives the chunker that turns its rows into records).
_STORES: dict[Kind, Any] = {Kind.PS_ACTIVITY: ActivityStore, Kind.MSSANTE: MailboxStore}


@dataclass(frozen=True)
class Progress:
    lines: int
    bytes_read: int
    bytes_total: int


@dataclass
class ImportReport:
    """Counts of one import; ``rejections`` keeps the first ``max_rejections`` (line, reason)."""

    import_id: str
    kind: ImportKind
    file_name: str
    encoding: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "deactivated": self.deactivated, "rejected": self.rejected}


def import_extract(
    path: Path,
    *,
    uow: Callable[[], UnitOfWork],
    progress: Callable[[Progress], None] | None = None,
    on_rejection: Callable[[Rejection], None] | None = None,
    clock: Callable[[], float] = time.time,
    max_rejections: int = 100_000,
    allow_mass_deactivation: bool = False,
    parallel: bool | None = None,
) -> ImportReport:
    """Import ``path``, its kind told by its header: all or nothing, then one event.

    Raises ``Invalid`` when the file is not an extract, ``Unprocessable`` when it would
    deactivate a large share of the directory; a bad line is rejected, never fatal. ``parallel``
    reads the extract in a second process (default: when it is large, see ``adapters/pipeline.py``).
    """
    started = clock()
    extract = open_extract(path)
    report = ImportReport(uuid.uuid4().hex, extract.kind.value, path.name, extract.encoding)
    try:
        unit_of_work = uow()
        journal = (rollback_journal(unit_of_work.engine, activity) if extract.kind is Kind.PS_ACTIVITY
                   else nullcontext(False))
        with _no_cycle_collection(), journal, unit_of_work as unit:
            store = _STORES[extract.kind](unit.connection, started)
            counts = _write(store, read_chunks(extract, store.chunker(), parallel=parallel), report,
                            _Listeners(extract.size, progress, on_rejection, max_rejections))
            if not allow_mass_deactivation:
                _refuse_mass_deactivation(counts)
            _record(unit, report, counts, started, clock())
            unit.commit()
    finally:
        extract.close()
    return report


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector: an import allocates millions of tuples, none in a
    cycle (reference counting frees them), and the collector's passes over them cost ~15 %."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class _Listeners:
    size: int
    progress: Callable[[Progress], None] | None
    on_rejection: Callable[[Rejection], None] | None
    max_rejections: int

    def tell(self, report: ImportReport, chunk: Chunk) -> None:
        report.rows = chunk.lines
        report.rejected += len(chunk.rejections)
        room = self.max_rejections - len(report.rejections)
        report.rejections.extend(chunk.rejections[:max(room, 0)])
        if self.on_rejection is not None:
            for rejection in chunk.rejections:
                self.on_rejection(rejection)
        if self.progress is not None:
            self.progress(Progress(chunk.lines, chunk.position, self.size))


def _write(store: Any, source: Generator[Chunk, None, None], report: ImportReport,
           listeners: _Listeners) -> Counts:
    try:
        for chunk in source:
            store.write(chunk)
            listeners.tell(report, chunk)
        return store.finish()
    except BaseException:
        source.close()  # stops the reading process, if any, now rather than when collected
        store.close()
        raise


def _refuse_mass_deactivation(counts: Counts) -> None:
    limit = max(MASS_DEACTIVATION_FLOOR, int(counts.active_before * MASS_DEACTIVATION_SHARE))
    if counts.deactivated > limit:
        raise Unprocessable(
            f"The extract would deactivate {counts.deactivated:,} of {counts.active_before:,} active "
            "records: is it complete? Nothing was imported; allow a mass deactivation to go ahead.")


def _record(unit: UnitOfWork, report: ImportReport, counts: Counts, started: float, finished: float) -> None:
    report.created, report.updated = counts.created, counts.updated
    report.unchanged, report.deactivated = counts.unchanged, counts.deactivated
    report.seconds = finished - started
    unit.connection.execute(sa.insert(import_run).values(
        id=report.import_id, kind=report.kind, file_name=report.file_name, started_at=started,
        finished_at=finished, **report.counts()))
    unit.publish(DirectoryImported(import_id=report.import_id, kind=report.kind, **report.counts()))
