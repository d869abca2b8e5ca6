"""Chunks: an extract's rows turned into database records, a few thousand lines at a time."""
from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.directory.adapters.annuaire import Extract, Rejection

CHUNK_LINES = 10_000


@dataclass
class Chunk:
    """Records for each table (parents first), and what the lines they come from were."""

    records: dict[str, list[tuple[Any, ...]]]
    accepted: int  # lines turned into records
    rejections: list[Rejection] = field(default_factory=list)
    lines: int = 0  # lines read so far, rejected ones included
    position: int = 0  # bytes read so far


class Chunker(Protocol):
    def add(self, row: Any) -> None: ...

    def end(self) -> None: ...

    def take(self) -> dict[str, list[tuple[Any, ...]]]: ...

    def result(self) -> Any:
        """After ``end()``: what the writer needs of the chunker's state (read in another process)."""

    def absorb(self, result: Any) -> None:
        """Take in ``result()`` of this chunker's copy in the reading process."""


def chunks(extract: Extract, chunker: Chunker, size: int = CHUNK_LINES) -> Generator[Chunk, None, None]:
    """The extract's lines, ``size`` at a time, as chunks of records; memory stays flat."""
    add = chunker.add
    rejections: list[Rejection] = []
    lines = accepted = 0
    for item in extract.rows:
        lines += 1
        if type(item) is Rejection:
            rejections.append(item)
        else:
            add(item)
            accepted += 1
        if lines % size == 0:
            yield Chunk(chunker.take(), accepted, rejections, lines, extract.position())
            rejections, accepted = [], 0
    chunker.end()
    yield Chunk(chunker.take(), accepted, rejections, lines, extract.size)
