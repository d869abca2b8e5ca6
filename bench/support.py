"""Benchmark plumbing: a private vhost and a throwaway database per run, percentiles."""
from __future__ import annotations

import argparse
import math
import secrets
import socket
import tempfile
import time
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(address: tuple[str, int]) -> None:
    """Until `maillage up` answers 200 on /readyz (a raw socket: nothing to warm up on the bench's side)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(address, timeout=1) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("maillage up did not become ready")


def add_service_options(parser: argparse.ArgumentParser) -> None:
    """The directory search benchmark's options for the service it measures (bench/directory*.py)."""
    parser.add_argument("--workers", default="1",
                        help="`maillage up --workers` counts to measure, comma-separated (1,2: every scenario on each)")
    parser.add_argument("--no-settle", action="store_true",
                        help="measure as soon as /readyz answers, even while the service still reacts to an import")
