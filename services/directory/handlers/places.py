"""Keeps the city search helper in step with the imported data."""
from __future__ import annotations

import time

from services.directory.adapters import places
from services.shared.contracts import Envelope
from services.shared.contracts.directory_events import DirectoryImported
from services.shared.db import UnitOfWork
from services.shared.logging import get_logger

log = get_logger(__name__)


def refresh_search_places(event: Envelope[DirectoryImported], *, uow: UnitOfWork) -> None:
    """On ``directory.imported``: the caller's unit of work commits (once per event)."""
    started = time.perf_counter()
    count = places.refresh(uow.connection)
    log.info("search places refreshed", import_id=event.data.import_id, places=count,
             seconds=round(time.perf_counter() - started, 3))
