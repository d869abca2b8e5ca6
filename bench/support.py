"""Benchmark plumbing: a private vhost and a throwaway database per run, percentiles."""
from __future__ import annotations

import math
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.shared.db.engine import drop_database, ensure_database


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]


@contextmanager
def bench_vhost() -> Iterator[str]:
    from tests.support.broker import isolated_vhost

    with isolated_vhost("maillage-bench") as uri:
        yield uri


@contextmanager
def bench_database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    else:
        url = f"postgresql://postgres@127.0.0.1:5432/maillage_bench_{secrets.token_hex(4)}"
        ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)
