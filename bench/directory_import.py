"""Directory import benchmark: a synthetic 52-column Personne_activite extract into SQLite and PostgreSQL.

Each import runs in a fresh process (its peak RSS is its own) into a freshly migrated database,
through services/directory/importer.py exactly as `maillage directory import` runs it; it prints
seconds, lines/s, peak RSS and the CPU seconds of the importing process (the
database server's are not in it). A second import of the same file (every line unchanged) is
measured too: that is the nightly case.

    python bench/directory_import.py [--rows 2000000] [--seed 1] [--postgres URL] [--no-postgres|--no-sqlite]

The extract is generated once (var/bench/) and reused. The machine's load average is printed
beside the figures: on a shared machine it explains most of the spread between runs.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/maillage_bench_directory"


def measure(path: Path, url: str, fresh: bool) -> dict[str, float]:
    """One import in this process: run by the parent in a child process per measurement."""
    from services.directory.adapters.tables import BUS_TABLES
    from services.directory.importer import import_extract
    from services.shared.db import UnitOfWork, make_engine
    from services.shared.db.engine import drop_database
    from services.shared.db.migrations import upgrade

    if fresh:
        drop_database(url)
    upgrade("directory", url)
    engine = make_engine(url, pool_size=1)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    report = import_extract(path, uow=lambda: UnitOfWork(engine, service="directory", outbox=BUS_TABLES[0],
                                                         processed=BUS_TABLES[1]))
    seconds = time.perf_counter() - started
    engine.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime - cpu_before, "lines": report.rows,
            "created": report.created, "unchanged": report.unchanged, "rejected": report.rejected,
            "peak_mib": usage.ru_maxrss / 1024}


def run_child(path: Path, url: str, fresh: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(path), url, "fresh" if fresh else "again"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def extract_for(rows: int, seed: int) -> Path:
    from services.directory.synth import write_extract

    path = REPO / "var" / "bench" / f"directory_synth_{rows}_{seed}.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"writing {rows:,} synthetic lines to {path} …", flush=True)
        partial = path.with_suffix(".partial")
        write_extract(partial, rows, seed)
        partial.rename(path)
    return path


def report(label: str, result: dict[str, float]) -> None:
    rate = result["lines"] / result["seconds"]
    print(f"{label:<28} {result['seconds']:6.1f} s ({result['cpu']:5.1f} s CPU here) {rate:>10,.0f} lines/s "
          f"{result['peak_mib']:>5.0f} MiB peak RSS   created {result['created']:,.0f} "
          f"unchanged {result['unchanged']:,.0f} rejected {result['rejected']:,.0f}   "
          f"load {os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite", default=f"sqlite:///{REPO / 'var' / 'bench' / 'directory.db'}")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    path = extract_for(args.rows, args.seed)
    size = path.stat().st_size / 2**20
    print(f"extract: {path.name}, {args.rows:,} lines, {size:,.0f} MiB; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    targets = ([] if args.no_sqlite else [("SQLite", args.sqlite)]) + (
        [] if args.no_postgres else [("PostgreSQL", args.postgres)])
    for name, url in targets:
        report(f"{name}: first import", run_child(path, url, fresh=True))
        report(f"{name}: same file again", run_child(path, url, fresh=False))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(measure(Path(sys.argv[2]), sys.argv[3], fresh=sys.argv[4] == "fresh")))
    else:
        main()
