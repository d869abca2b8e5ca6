"""Bus benchmark: the raw broker ceiling vs the reliable outbox → relay → consumer path, in one run.

Raw ceiling: persistent messages to a quorum queue, confirms pipelined, consumed with manual acks.
Reliable path: events committed to a service's outbox, relayed with pipelined confirms, handled
once each by a reliable consumer that commits its effect before acking. Both measured end to end
(published/committed → consumed/committed), in messages per second, with p50/p99 latency.

    python bench/bus.py [--events 20000] [--database sqlite|postgresql]
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import amqp  # noqa: E402
import sqlalchemy as sa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import bench_database, bench_vhost, percentile  # noqa: E402
from services.shared.bus.amqp import connect  # noqa: E402
from services.shared.db import UnitOfWork  # noqa: E402
from services.shared.testing import probe_service  # noqa: E402


def raw_ceiling(uri: str, count: int, body_size: int, window: int = 1000) -> dict[str, float]:
    """Publish ``count`` persistent messages with pipelined confirms while a consumer acks them."""
    producer, consumer = connect(uri, name="bench-raw-producer"), connect(uri, name="bench-raw-consumer")
    pch, cch = producer.channel(), consumer.channel()
    pch.queue_declare("bench.raw", durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"})
    pch.queue_purge("bench.raw")
    pch.confirm_select()
    confirmed = [0]
    pch.events["basic_ack"].add(lambda tag, multiple: confirmed.__setitem__(0, max(confirmed[0], tag)))
    latencies: list[float] = []

    def on_message(message: amqp.Message) -> None:
        latencies.append(time.perf_counter() - float(message.body[:20]))
        cch.basic_ack(message.delivery_tag)

    cch.basic_qos(0, 500, False)
    tag = cch.basic_consume("bench.raw", callback=on_message)
    receiver = eventlet.spawn(lambda: [consumer.drain_events(timeout=60) for _ in iter(lambda: len(latencies) < count, False)])
    padding = b"x" * max(0, body_size - 20)
    started = time.perf_counter()
    for sent in range(1, count + 1):
        pch.basic_publish(amqp.Message(f"{time.perf_counter():<20.6f}".encode() + padding, delivery_mode=2),
                          exchange="", routing_key="bench.raw")
        while sent - confirmed[0] >= window:
            producer.drain_events(timeout=30)
    while confirmed[0] < count:
        producer.drain_events(timeout=30)
    receiver.wait()
    elapsed = time.perf_counter() - started
    cch.basic_cancel(tag)
    pch.queue_delete("bench.raw")
    producer.close()
    consumer.close()
    return {"rate": count / elapsed, "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


def reliable_path(uri: str, url: str, count: int, batch: int) -> dict[str, float]:
    """Commit ``count`` events in transactions of ``batch`` and wait until the consumer handled them all."""
    from nameko.runners import ServiceRunner

    from services.shared.nameko_ext.config import container_config
    from services.shared.settings import Settings

    engine = sa.create_engine(url)
    probe_service.metadata.create_all(engine)
    settings = Settings(amqp_uri=uri, var_dir=Path(tempfile.mkdtemp()), service_database_urls={"probe": url},
                        log_level="WARNING")
    runner = ServiceRunner(container_config(settings))
    runner.add_service(probe_service.ProbeService)
    runner.start()
    container = next(iter(runner.containers))
    database = next(d for d in container.dependencies if isinstance(d, probe_service.Database))
    started = time.perf_counter()
    for start in range(0, count, batch):
        with UnitOfWork(database.engine, service="probe", outbox=probe_service.BUS[0], processed=probe_service.BUS[1],
                        on_commit=database.worker.wake) as uow:
            for n in range(start, min(start + batch, count)):
                uow.publish("probe.counted", {"n": n})
            uow.commit()
        eventlet.sleep(0)
    handled = probe_service.handled
    with engine.connect() as conn:
        while conn.scalar(sa.select(sa.func.count()).select_from(handled)) < count:
            conn.rollback()
            eventlet.sleep(0.02)
        elapsed = time.perf_counter() - started
        latencies = [row[0] for row in conn.execute(sa.select(handled.c.handled_at - handled.c.created_at))]
    runner.stop()
    engine.dispose()
    return {"rate": count / elapsed, "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="events per producer transaction")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with bench_vhost() as uri, bench_database(args.database) as url:
        raw = raw_ceiling(uri, args.events, body_size=400)
        reliable = reliable_path(uri, url, args.events, args.batch)
    print(f"bus benchmark: {args.events} events, {args.database}, producer transactions of {args.batch}")
    print(f"  raw broker ceiling   {raw['rate']:9.0f} msg/s   p50 {raw['p50_ms']:7.1f} ms   p99 {raw['p99_ms']:7.1f} ms")
    print(f"  outbox → consumer    {reliable['rate']:9.0f} msg/s   p50 {reliable['p50_ms']:7.1f} ms   p99 {reliable['p99_ms']:7.1f} ms")
    print(f"  ratio to ceiling     {reliable['rate'] / raw['rate']:9.1%}   (target ≥ 50 %)")


if __name__ == "__main__":
    main()
