"""The extract read by a second process: the same chunks as in-process, failures told, the child stopped."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.directory.adapters.activity_records import ActivityChunker
from services.directory.adapters.annuaire import open_extract
from services.directory.adapters.pipeline import read_chunks
from tests.unit.directory.annuaire_fixtures import RPPS_A, RPPS_B, RPPS_C, activity_line, write


def _extract(tmp_path: Path) -> Path:
    lines = [activity_line(rpps) for rpps in (RPPS_A, RPPS_B, RPPS_C)] + ["not|an|activity\n"]
    return write(tmp_path / "activite.txt", *lines)


def _read(path: Path, parallel: bool, chunker: Any = None, size: int = 2) -> list[Any]:
    extract = open_extract(path)
    try:
        return [(c.records, c.accepted, c.rejections, c.lines) for c in
                read_chunks(extract, chunker or ActivityChunker(), parallel=parallel, size=size)]
    finally:
        extract.close()


def test_a_reader_process_yields_what_reading_in_process_yields(tmp_path: Path) -> None:
    path = _extract(tmp_path)
    in_process = _read(path, parallel=False)
    assert [c[1] for c in in_process] == [2, 1, 0] and in_process[1][2][0].line == 5
    assert _read(path, parallel=True) == in_process


class _Failing(ActivityChunker):
    def add(self, row: Any) -> None:
        raise ValueError("a bug, with the row's values that must not leak")


def test_a_failure_in_the_reader_process_is_raised_without_row_values(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"ValueError at .*test_directory_pipeline.py") as caught:
        _read(_extract(tmp_path), parallel=True, chunker=_Failing())
    assert "row" not in str(caught.value)


def test_a_writer_that_stops_early_stops_the_reader(tmp_path: Path) -> None:
    extract = open_extract(_extract(tmp_path))
    source = read_chunks(extract, ActivityChunker(), parallel=True, size=1)
    next(source)
    frame = source.gi_frame
    assert frame is not None
    child = frame.f_locals["child"]
    source.close()
    extract.close()
    assert not child.is_alive()
