"""Bus benchmark: the raw broker ceiling vs the reliable outbox → relay → consumer path, in one run.

Both paths run as they do in production: the producer in this process, the consumer in another.

- Raw ceiling: persistent messages to a quorum queue, publisher confirms pipelined, consumed
  with manual acks by a separate process, no database anywhere.
- Reliable path: events committed to a service's outbox (transactions of --batch events), relayed
  with pipelined confirms, handled once each by the probe service (a separate process) whose
  effect and processed-event record commit before the ack.

Each prints messages/s end to end (first publish or commit → last consumed and committed) and
p50/p99 latency, at saturation and at a paced offered load (--offered msg/s).

    python bench/bus.py [--events 20000] [--database sqlite|postgresql] [--offered 500]
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import amqp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import bench_database, bench_vhost, percentile
from services.shared.bus.amqp import connect
from services.shared.bus.relay import OutboxRelay
from services.shared.bus.relay_worker import RelayWorker
from services.shared.db import UnitOfWork, make_engine
from services.shared.testing import probe_service

RAW_QUEUE = "bench.raw"


def stats(count: int, elapsed: float, latencies: list[float]) -> dict[str, float]:
    return {
        "rate": count / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def raw_consumer(uri: str, count: int) -> None:
    """Subprocess: consume ``count`` messages with manual acks and print their latencies as JSON."""
    connection = connect(uri, name="bench-raw-consumer")
    channel = connection.channel()
    channel.basic_qos(0, 500, False)
    latencies: list[float] = []

    def on_message(message: amqp.Message) -> None:
        latencies.append(time.time() - float(message.body[:20]))
        channel.basic_ack(message.delivery_tag)

    channel.basic_consume(RAW_QUEUE, callback=on_message)
    print("ready", flush=True)
    while len(latencies) < count:
        connection.drain_events(timeout=120)
    connection.close()
    print(json.dumps({"finished": time.time(), "latencies": latencies}), flush=True)


def paced(count: int, offered: float | None):  # type: ignore[no-untyped-def]
    """Yield indices, sleeping to hold an offered rate when one is given."""
    started = time.perf_counter()
    for index in range(count):
        if offered:
            delay = started + index / offered - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        yield index


def raw_ceiling(
    uri: str, count: int, body_size: int, offered: float | None = None, window: int = 1000
) -> dict[str, float]:
    producer = connect(uri, name="bench-raw-producer")
    channel = producer.channel()
    channel.queue_declare(RAW_QUEUE, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"})
    channel.queue_purge(RAW_QUEUE)
    consumer = subprocess.Popen(
        [sys.executable, __file__, "--role", "raw-consumer", "--uri", uri, "--events", str(count)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert consumer.stdout is not None and consumer.stdout.readline().strip() == b"ready"
    channel.confirm_select()
    confirmed = [0]
    channel.events["basic_ack"].add(lambda tag, multiple: confirmed.__setitem__(0, max(confirmed[0], tag)))
    padding = b"x" * max(0, body_size - 20)
    started = time.time()
    # Published in corked runs like the relay's batches (services.shared.bus.amqp.corked): same
    # technique on both paths. Paced, each message leaves at once.
    run = 1 if offered else 100
    for index in paced(count, offered):
        if index % run == 0:
            producer.transport.cork()
        channel.basic_publish(
            amqp.Message(f"{time.time():<20.6f}".encode() + padding, delivery_mode=2),
            exchange="",
            routing_key=RAW_QUEUE,
        )
        if (index + 1) % run == 0 or index + 1 == count:
            producer.transport.uncork()
        while index + 1 - confirmed[0] >= window:
            producer.transport.uncork()
            producer.drain_events(timeout=30)
    while confirmed[0] < count:
        producer.drain_events(timeout=30)
    report = json.loads(consumer.stdout.readline())
    consumer.wait(timeout=60)
    channel.queue_delete(RAW_QUEUE)
    producer.close()
    return stats(count, report["finished"] - started, report["latencies"])


def reliable_path(
    uri: str, producer_url: str, consumer_url: str, count: int, batch: int, offered: float | None = None
) -> dict[str, float]:
    """The producer (this process) and the consumer (the probe service) each own a database, as services do."""
    engine, consumer_db = make_engine(producer_url), make_engine(consumer_url)
    for database in (engine, consumer_db):
        probe_service.metadata.drop_all(database)
        probe_service.metadata.create_all(database)
    env = {
        **os.environ,
        "AMQP_URI": uri,
        "MAILLAGE_PROBE_DATABASE_URL": consumer_url,
        "PROBE_RELAY": "0",
        "MAILLAGE_LOG_LEVEL": "ERROR",
    }
    consumer = subprocess.Popen(
        [sys.executable, "-m", "services.shared.testing.probe_service"], env=env, stdout=subprocess.PIPE, cwd=ROOT
    )
    assert consumer.stdout is not None and consumer.stdout.readline().strip() == b"probe ready"
    outbox, processed = probe_service.BUS
    worker = RelayWorker(OutboxRelay(engine, outbox, uri, batch_size=500, name="bench-relay"), idle_seconds=0.01)
    relay = eventlet.spawn(worker.run)
    started = time.time()
    step = 1 if offered else batch
    sent = 0
    for index in paced(count // step, offered / step if offered else None):
        with UnitOfWork(engine, service="probe", outbox=outbox, processed=processed, on_commit=worker.wake) as uow:
            for n in range(index * step, index * step + step):
                uow.publish(probe_service.ProbeCounted(n=n))
            uow.commit()
        sent += step
        eventlet.sleep(0)
    handled = probe_service.handled
    with consumer_db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        while (conn.scalar(sa.select(sa.func.count()).select_from(handled)) or 0) < sent:
            conn.rollback()
            eventlet.sleep(0.01)
        finished = conn.scalar(sa.select(sa.func.max(handled.c.handled_at)))
        latencies = [row[0] for row in conn.execute(sa.select(handled.c.handled_at - handled.c.created_at))]
    worker.stop()
    relay.wait()
    consumer.terminate()
    consumer.wait(timeout=60)
    engine.dispose()
    consumer_db.dispose()
    return stats(sent, float(finished) - started, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="events per producer transaction")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--offered", type=float, default=500.0, help="paced load for the latency figures (msg/s)")
    parser.add_argument("--only", choices=["raw", "reliable"], help="run one saturated path only (profiling)")
    parser.add_argument("--role", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "raw-consumer":
        raw_consumer(args.uri, args.events)
        return
    if args.only:
        with bench_vhost() as uri, bench_database(args.database) as producer, bench_database(args.database) as consumer:
            if args.only == "raw":
                result = raw_ceiling(uri, args.events, body_size=400)
            else:
                result = reliable_path(uri, producer, consumer, args.events, args.batch)
        print(f"{args.only}: {result['rate']:.0f} msg/s  p50 {result['p50_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms")
        return
    with bench_vhost() as uri, bench_database(args.database) as producer, bench_database(args.database) as consumer:
        raw = raw_ceiling(uri, args.events, body_size=400)
        reliable = reliable_path(uri, producer, consumer, args.events, args.batch)
        paced_count = int(min(args.events, args.offered * 10))
        raw_paced = raw_ceiling(uri, paced_count, body_size=400, offered=args.offered)
        reliable_paced = reliable_path(uri, producer, consumer, paced_count, 1, offered=args.offered)
    line = "  {:<34} {:9.0f} msg/s   p50 {:8.1f} ms   p99 {:8.1f} ms"
    print(f"bus benchmark: {args.events} events, {args.database}, producer transactions of {args.batch} events")
    print(line.format("raw broker ceiling (saturated)", raw["rate"], raw["p50_ms"], raw["p99_ms"]))
    print(line.format("outbox → consumer (saturated)", reliable["rate"], reliable["p50_ms"], reliable["p99_ms"]))
    print(f"  {'ratio to the raw ceiling':<34} {reliable['rate'] / raw['rate']:9.1%}   (target ≥ 50 %)")
    print(f"latency at {args.offered:.0f} msg/s offered ({paced_count} events, one event per producer transaction):")
    print(line.format("raw broker", raw_paced["rate"], raw_paced["p50_ms"], raw_paced["p99_ms"]))
    print(line.format("outbox → consumer", reliable_paced["rate"], reliable_paced["p50_ms"], reliable_paced["p99_ms"]))


if __name__ == "__main__":
    main()
