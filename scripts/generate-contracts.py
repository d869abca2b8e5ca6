#!/usr/bin/env python3
"""Write schemas/events/*.json and schemas/asyncapi.yaml from the code (services/shared/contracts and the
services' @event_handler entrypoints). `--check` writes nothing and fails when the files differ.

    .venv/bin/python scripts/generate-contracts.py [--check]
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.cli.broker import catalogue_subscriptions  # noqa: E402
from services.shared.bus.catalogue import channels  # noqa: E402
from services.shared.contracts import contracts  # noqa: E402
from services.shared.contracts.documents import asyncapi_text, event_schema_files  # noqa: E402

SCHEMAS = ROOT / "schemas"


def expected() -> dict[Path, str]:
    """Every generated file and its text."""
    files = {SCHEMAS / "events" / name: text for name, text in event_schema_files(contracts()).items()}
    files[SCHEMAS / "asyncapi.yaml"] = asyncapi_text(channels(catalogue_subscriptions()))
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = expected()
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    extra = [path for path in (SCHEMAS / "events").glob("*.json") if path not in files]
    if check:
        for path in stale + extra:
            print(f"{path.relative_to(ROOT)} differs from what the code generates", file=sys.stderr)
        return 1 if stale or extra else 0
    for path in stale:
        path.write_text(files[path])
        print(f"wrote {path.relative_to(ROOT)}")
    for path in extra:
        path.unlink()
        print(f"removed {path.relative_to(ROOT)} (no contract declares it)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
