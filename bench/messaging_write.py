"""Messaging write-path microbenchmark: the CPU a group commit spends per message, in this process.

Times what a group commit does for submissions that arrive together (services/messaging/handlers/
group_commit.py): one unit of work, ``record_many`` for the group (message, deliveries, mailbox
entries, idempotency keys, audit chain, outbox events), commit. The messages are prepared as the
submission path prepares them (``Prepared``: 1 recipient plus the sender's copy, a 14 KB ciphertext,
one in three with an Idempotency-Key) without their crypto, which is measured by bench/messaging.py.
CPU time (``time.process_time``) per message, the median of ``--rounds`` rounds, on a throwaway
database; no broker.

    python bench/messaging_write.py [--database sqlite|postgresql] [--group 30] [--groups 40] [--rounds 9]

Prints three lines, each the median and the spread (min–max) in µs per message: write (BEGIN,
``record_many`` and the outbox flush: the Python and SQL work), commit (on SQLite mostly the WAL
write and its checkpoints: I/O, noisy), and their total.

Measured on the 2-core dev machine (medians of three alternated runs of 15 rounds), before → after
row batches through services/shared/db/rows.py: SQLite write 174 → 123 µs, total 265 → 231 µs;
PostgreSQL write 273 → 156 µs, total 278 → 160 µs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_database  # noqa: E402
from services.messaging.adapters.tables import BUS_TABLES  # noqa: E402
from services.messaging.domain.commands import Draft, Idempotency, SubmitMessage  # noqa: E402
from services.messaging.domain.model import Author, Mode, Recipient, RecipientKind  # noqa: E402
from services.messaging.handlers.preparation import Prepared  # noqa: E402
from services.messaging.handlers.submission import record_many  # noqa: E402
from services.shared.db import UnitOfWork, make_engine  # noqa: E402
from services.shared.db.migrations import upgrade  # noqa: E402

SENDER, RECIPIENT, RPPS = "emetteur@cabinet.test", "destinataire1@cabinet.test", "10000000009"
CIPHERTEXT = os.urandom(14_000)


def prepared(n: int) -> Prepared:
    key = Idempotency(scope="8" + RPPS, key=uuid.uuid4().hex, fingerprint="f" * 64) if n % 3 == 0 else None
    command = SubmitMessage(sender=SENDER, recipients=(Recipient(RECIPIENT, RecipientKind.TO),),
                            author=Author(subject="8" + RPPS, rpps=RPPS),
                            content=Draft("Compte rendu", "Bonjour"), idempotency=key)
    return Prepared(message_id=str(uuid.uuid4()), command=command, mode=Mode.PLATFORM_SIGNED,
                    ciphertext=CIPHERTEXT, deliverable=command.recipients, bounces=(), sender_copy=True,
                    submitted_at=datetime.now(UTC))


def one_round(new_uow: Callable[[], UnitOfWork], group: int, groups: int) -> tuple[float, float]:
    """µs of CPU per message to record ``groups`` groups of ``group`` messages (BEGIN, ``record_many``,
    the outbox flush), and to commit them."""
    batches = [[(prepared(n), None) for n in range(group)] for _ in range(groups)]
    writing = committing = 0.0
    for batch in batches:
        started = time.process_time()
        with new_uow() as uow:
            record_many(batch, uow, delivered_at=datetime.now(UTC))
            uow.flush()
            written = time.process_time()
            uow.commit()
        committing += time.process_time() - written
        writing += written - started
    return writing / (group * groups) * 1e6, committing / (group * groups) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--group", type=int, default=30)
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with bench_database(args.database) as url:
        upgrade("messaging", url)
        engine = make_engine(url)
        try:
            def new_uow() -> UnitOfWork:
                return UnitOfWork(engine, service="messaging", outbox=BUS_TABLES[0], processed=BUS_TABLES[1])

            one_round(new_uow, args.group, 5)  # warm-up: statement caches, pool
            figures = [one_round(new_uow, args.group, args.groups) for _ in range(args.rounds)]
        finally:
            engine.dispose()
    for name, values in (("write", [w for w, _ in figures]), ("commit", [c for _, c in figures]),
                         ("total", [w + c for w, c in figures])):
        print(f"{args.database}, groups of {args.group}, {name}: {statistics.median(values):.0f} µs/message "
              f"(min {min(values):.0f}, max {max(values):.0f})")


if __name__ == "__main__":
    main()
