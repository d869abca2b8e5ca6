"""The directory benchmark of issue 3: import a synthetic national extract, then search it over HTTP.

1. Import, as an operator runs it: `maillage directory import EXTRACT` in its own process, timed from
   launch to exit (start-up, migrations, the import, the final WAL checkpoint included), into a fresh
   SQLite file and a fresh PostgreSQL database; then the same file again (every line unchanged: the
   nightly case). Peak RSS is the largest of the command's processes (the writer, and the process
   that reads the extract beside it): each is under the figure.
2. Searches over HTTP on the SQLite directory just imported (bench/directory_search.py): by identifier
   and by family name + postal code, one connection back to back, --concurrency connections as fast
   as answered, and --offered req/s paced over --concurrency connections, on `maillage up --workers N`
   for each N of --workers (default 1). Before measuring, the bench waits until the service has logged
   its reaction to each import still pending in the outbox (`search places refreshed`) and prints the wait.

Figures are printed against the targets: import of 2,000,000 rows ≤ 60 s with peak RSS ≤ 500 MB
(SQLite), identifier p99 ≤ 5 ms, family + postal code p99 ≤ 20 ms.

    maillage directory synth --rows 2000000 --out /tmp/maillage-bench/extract.txt     # once, unlocked
    flock /tmp/maillage-bench.lock python bench/directory.py --extract /tmp/maillage-bench/extract.txt
    flock /tmp/maillage-bench.lock python bench/directory.py --extract … --only import --no-postgres --runs 3

--only import runs the imports alone, --only search the searches alone (on the SQLite directory a
previous run left in --data); --first-only leaves out the second import of the same file.

Without --extract the extract is generated first (into --data). The machine's load average is
printed with each figure: on the shared 2-core machine it explains most of the spread.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import add_service_options  # noqa: E402

IMPORT_SECONDS, IMPORT_MIB = 60.0, 500 / 1.048576  # 500 MB
TARGET_P99_MS = {"identifier": 5.0, "family + postal code": 20.0}


def cli_import(extract: Path, url: str) -> dict[str, float]:
    """`maillage directory import` in a process of its own: wall seconds, peak RSS (MiB), load average."""
    env = {**os.environ, "MAILLAGE_DIRECTORY_DATABASE_URL": url, "MAILLAGE_LOG_LEVEL": "ERROR", "COLUMNS": "120"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "services.cli", "directory", "import", str(extract)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"maillage directory import failed:\n{output}")
    # wait4: the largest RSS among the command's process and the ones it waited for (the reader).
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "load": os.getloadavg()[0]}


def import_runs(extract: Path, targets: list[tuple[str, str]], runs: int,
                first_only: bool = False) -> list[tuple[str, dict[str, float]]]:
    from services.shared.db.engine import drop_database

    results = []
    labels = ("first import",) if first_only else ("first import", "same file again")
    for run in range(1, runs + 1):
        for name, url in targets:
            drop_database(url)
            for label in labels:
                figures = cli_import(extract, url)
                results.append((f"{name}, {label} (run {run})", figures))
                print(f"  {results[-1][0]:<40} {figures['seconds']:6.1f} s   peak RSS {figures['peak_mib']:5.0f} MiB"
                      f"   load {figures['load']:.2f}", flush=True)
    return results


def verdicts(rows: int, imports: list[tuple[str, dict[str, float]]], searches: dict[tuple[str, str], Any],
             offered_label: str) -> None:
    print(f"\nagainst the targets ({rows:,} rows, {os.cpu_count()} cores):")
    for label, figures in imports:
        if label.startswith("SQLite, first import"):
            met = figures["seconds"] <= IMPORT_SECONDS and figures["peak_mib"] <= IMPORT_MIB
            print(f"  import {label}: {figures['seconds']:.1f} s ≤ {IMPORT_SECONDS:.0f} s, "
                  f"{figures['peak_mib']:.0f} MiB ≤ 477 MiB (500 MB): {'met' if met else 'NOT met'}")
    for (name, scenario), figures in searches.items():
        if scenario.startswith(("1 connection", offered_label)):
            target = TARGET_P99_MS[name]
            verdict = "met" if figures["p99_ms"] <= target else "NOT met"
            print(f"  {name}, {scenario}: p99 {figures['p99_ms']:.2f} ms ≤ {target:.0f} ms: {verdict}"
                  f"   (load {figures['load']:.2f})")


def main() -> None:
    from bench.directory_import import DEFAULT_POSTGRES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="lines to generate when no --extract")
    parser.add_argument("--extract", type=Path, help="an extract written beforehand (maillage directory synth)")
    parser.add_argument("--data", type=Path, default=Path("/tmp/maillage-directory-bench"),
                        help="where the extract (if generated) and the SQLite directory go")
    parser.add_argument("--runs", type=int, default=1, help="import runs (each: fresh import, then again)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-search", action="store_true")
    parser.add_argument("--only", choices=("import", "search"),
                        help="import: the imports alone (no search); search: the searches alone, on the SQLite "
                             "directory a previous run left in --data")
    parser.add_argument("--first-only", action="store_true", help="no second import of the same file")
    parser.add_argument("--requests", type=int, default=3000, help="searches per scenario")
    parser.add_argument("--concurrency", type=int, default=8, help="connections for the throughput runs")
    parser.add_argument("--offered", type=float, default=100, help="req/s offered in the paced runs")
    add_service_options(parser)
    args = parser.parse_args()
    if args.only == "import":
        args.no_search = True

    args.data.mkdir(parents=True, exist_ok=True)
    extract = args.extract
    if extract is None:
        from services.directory.synth import write_extract

        extract = args.data / f"synth_{args.rows}.txt"
        if not extract.exists():
            print(f"writing {args.rows:,} synthetic lines to {extract} …", flush=True)
            write_extract(extract, args.rows, seed=2026)
    with open(extract, "rb") as lines:
        rows = sum(1 for _ in lines) - 1
    sqlite_url = f"sqlite:///{args.data / 'directory.db'}"
    targets = [("SQLite", sqlite_url)] + ([] if args.no_postgres else [("PostgreSQL", args.postgres)])
    print(f"directory benchmark: {extract.name}, {rows:,} lines, {extract.stat().st_size / 2**20:,.0f} MiB; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
    print("import (`maillage directory import`, launch to exit):", flush=True)
    if args.only == "search":
        if not (args.data / "directory.db").exists():
            parser.error(f"--only search needs the directory a previous run imported into {args.data}")
        imports: list[tuple[str, dict[str, float]]] = []
    else:
        imports = import_runs(extract, targets, args.runs, args.first_only)
    if not args.no_postgres and args.only != "search":
        from services.shared.db.engine import drop_database

        drop_database(args.postgres)  # 1 GB of disk back
    searches: dict[tuple[str, str], Any] = {}
    offered_label = ""
    if not args.no_search:
        from bench import directory_search  # eventlet-patched: imported once the imports are done

        offered_label = directory_search.offered_label(args)
        # The SQLite directory is the last one imported (same file again): warm it as the service would.
        directory_search.warm(sqlite_url)
        timings = {"generate_s": 0.0, "import_s": imports[0][1]["seconds"] if imports else 0.0, "rows": rows}
        searches, edge = directory_search.run(args, sqlite_url)
        args.database = "sqlite"
        print()
        directory_search.report(args, timings, searches, edge)
    verdicts(rows, imports, searches, offered_label)


if __name__ == "__main__":
    main()
