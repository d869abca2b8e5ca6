"""Messaging benchmark: accepted over HTTP → in the recipient's mailbox, against the raw broker ceiling.

The platform runs as a user runs it (`maillage up [--workers N]`: the directory and messaging), the
directory seeded with the sender's and recipients' mailboxes and certificates; a lean load generator
(bench/messaging_load.py: keep-alive HTTP/1.1, one thread, epoll, another process) submits JSON messages.
Figures come from the database: a message's submission time (before its crypto) to the time its
mailbox entry committed. The crypto cost (MIME + operator signature + AES-256 for each recipient
and the sender's copy) is measured alone, in this process, on one core.

    python bench/messaging.py [--messages 5000] [--database sqlite|postgresql] [--offered 300]
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bus import raw_ceiling  # noqa: E402
from bench.support import bench_database, bench_vhost, free_port, percentile, wait_ready  # noqa: E402
from services.messaging.adapters.composer import Envelope, compose  # noqa: E402
from services.messaging.adapters.operator import dev_operator  # noqa: E402
from services.messaging.crypto.mime import Attachment  # noqa: E402
from services.messaging.domain.commands import Draft  # noqa: E402
from services.messaging.domain.model import Author, Recipient, RecipientKind  # noqa: E402
from services.shared.auth import DevIssuer  # noqa: E402
from services.shared.db.migrations import upgrade  # noqa: E402
from services.shared.pki.envelope_der import encrypt_der  # noqa: E402
from services.shared.web import http  # noqa: E402
from tests.support.messaging_world import seed_directory  # noqa: E402
from tests.support.pki import Identity, make_ca, make_identity  # noqa: E402
from tests.unit.directory.directory_world import Person  # noqa: E402

SENDER_RPPS = "10000000009"
SENDER = "emetteur@cabinet.test"
RECIPIENTS = [f"destinataire{n}@cabinet.test" for n in range(1, 6)]
TEXT = ("Compte rendu de consultation. " * 400)[:10_000]
PDF = b"%PDF-1.4\n" + os.urandom(100 * 1024 - 20) + b"\n%%EOF\n"


# -- what is measured ----------------------------------------------------------------------------

def message_body(recipients: int, attachment: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"sender": SENDER, "to": RECIPIENTS[:recipients], "subject": "Compte rendu",
                            "body": {"text": TEXT}}
    if attachment:
        body["attachments"] = [{"filename": "cr.pdf", "content_type": "application/pdf",
                                "data": base64.b64encode(PDF).decode()}]
    return body


def crypto_cost(identities: dict[str, Identity], recipients: int, attachment: bool,
                count: int = 300) -> dict[str, float]:
    """Per message, one core: build the MIME entity, sign it as the operator, encrypt it (AES-256, RSA-OAEP)."""
    operator = dev_operator(Path(tempfile.mkdtemp()), "ne-pas-repondre@maillage.test")
    certs = [identities[address].cert for address in [*RECIPIENTS[:recipients], SENDER]]
    files = (Attachment("cr.pdf", "application/pdf", PDF),) if attachment else ()
    draft = Draft("Compte rendu", TEXT, attachments=files)
    envelope = Envelope("00000000-0000-4000-8000-000000000000", SENDER,
                        tuple(Recipient(a, RecipientKind.TO) for a in RECIPIENTS[:recipients]),
                        Author("bench", rpps=SENDER_RPPS), __import__("datetime").datetime.now(), "maillage.test")
    timings: dict[str, float] = {"mime": 0.0, "sign": 0.0, "encrypt": 0.0}
    for _ in range(count):
        t0 = time.perf_counter()
        mime = compose(draft, envelope, patient_ins=None, read_receipt=False)
        t1 = time.perf_counter()
        signed = operator.sign(mime)
        t2 = time.perf_counter()
        encrypt_der(signed, certs)
        t3 = time.perf_counter()
        for key, spent in (("mime", t1 - t0), ("sign", t2 - t1), ("encrypt", t3 - t2)):
            timings[key] += spent
    return {key: value / count * 1000 for key, value in timings.items()}


# -- the platform under test ---------------------------------------------------------------------

class Platform:
    """`maillage up --workers N` with the directory and messaging, as a user runs it; the directory seeded with
    the sender's and recipients' mailboxes and certificates through its own importer and handlers."""

    def __init__(self, uri: str, url: str, var_dir: Path, identities: dict[str, Identity], workers: int = 1,
                 log_level: str = "ERROR") -> None:
        self.port = free_port()
        self.base = ("127.0.0.1", self.port)
        directory_url = f"sqlite:///{var_dir / 'directory.db'}"
        sender = Person(SENDER_RPPS, "DR", "MME", "MARTIN", "Alice", "10", "SM54")
        seed_directory(directory_url, var_dir, identities, people={"sender": sender},
                       mailboxes=[("PER", address, "sender", address) for address in [SENDER, *RECIPIENTS]])
        env = {**os.environ, "AMQP_URI": uri, "MAILLAGE_MESSAGING_DATABASE_URL": url,
               "MAILLAGE_DIRECTORY_DATABASE_URL": directory_url, "MAILLAGE_VAR_DIR": str(var_dir),
               "MAILLAGE_HTTP_ADDRESS": f"127.0.0.1:{self.port}", "MAILLAGE_LOG_LEVEL": log_level,
               "MAILLAGE_ENV": "test"}
        self.platform = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--workers", str(workers)],
                                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.token = DevIssuer(var_dir).mint(rpps=SENDER_RPPS, ttl_seconds=3600)  # the lifetime cap
        wait_ready(self.base)

    def stop(self) -> None:
        self.platform.send_signal(signal.SIGTERM)
        self.platform.wait(timeout=60)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and all their descendants (from /proc)."""
    tick, total, seen = os.sysconf("SC_CLK_TCK"), 0.0, list(pids)
    while seen:
        pid = seen.pop()
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{pid}/task/{pid}/children") as children:
                seen += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def pids_of(*pgrep: str) -> list[int]:
    found = subprocess.run(["pgrep", *pgrep], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


class EdgeOnly:
    """The same authenticated HTTP edge answering 202 at once: what nameko, werkzeug and JWT cost alone."""

    name = "bench_edge"

    @http("POST", "/api/v1/messages", max_body_bytes=32 * 1024 * 1024)
    def send_message(self, request: Any) -> tuple[int, dict[str, str]]:
        request.get_data()
        return 202, {"id": "00000000-0000-4000-8000-000000000000"}


def edge_only(port: int, var_dir: str) -> None:
    from nameko.runners import ServiceRunner

    from services.shared.nameko_ext.config import container_config
    from services.shared.settings import Settings

    runner = ServiceRunner(container_config(Settings(environment="test", var_dir=Path(var_dir),
                                                     http_address=f"127.0.0.1:{port}", log_level="ERROR")))
    runner.add_service(EdgeOnly)
    runner.start()
    print("ready", flush=True)
    eventlet.event.Event().wait()


def edge_ceiling(var_dir: Path, count: int) -> float:
    """Requests/s of the bare authenticated edge, with the same load generator and message body."""
    port = free_port()
    edge = subprocess.Popen([sys.executable, __file__, "--role", "edge", "--port", str(port), "--body", str(var_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert edge.stdout is not None and edge.stdout.readline().strip() == b"ready"
    probe = type("Probe", (), {"port": port, "token": DevIssuer(var_dir).mint(rpps=SENDER_RPPS)})()
    try:
        load = run_load(probe, message_body(1, False), count)  # type: ignore[arg-type]
    finally:
        edge.terminate()
        edge.wait(timeout=30)
    return float(load["statuses"].get("202", 0)) / (load["finished"] - load["started"])


# -- the load generator (its own process) -------------------------------------------------------

def run_load(platform: Any, body: dict[str, Any], count: int, offered: float = 0.0) -> dict[str, Any]:
    import resource

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(body, file)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = subprocess.run([sys.executable, str(ROOT / "bench" / "messaging_load.py"), str(platform.port),
                           platform.token, file.name, str(count), "16", str(offered)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {**json.loads(load.stdout), "load_cpu_s": spent}


def last_entry(url: str) -> int:
    """The newest mailbox entry's seq: a scenario's deliveries are the entries after it."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        last = conn.scalar(sa.text("SELECT COALESCE(MAX(seq), 0) FROM mailbox_entries"))
    engine.dispose()
    return int(last)


def delivered(url: str, after: int, expected: int) -> dict[str, float]:
    """Wait until ``expected`` inbox entries exist after seq ``after``; rate and latencies.

    While waiting, only a count over the seq range (the primary key) is polled, so the benchmark's
    own reads stay cheap however many messages earlier scenarios left in the database."""
    engine = sa.create_engine(url)
    count = sa.text("SELECT COUNT(*) FROM mailbox_entries WHERE seq > :after AND folder = 'inbox'")
    rows_query = sa.text("SELECT m.submitted_at, e.delivered_at FROM mailbox_entries e"
                         " JOIN messages m ON m.id = e.message_id WHERE e.seq > :after AND e.folder = 'inbox'")
    deadline = time.monotonic() + 600
    while True:
        with engine.connect() as conn:
            found = int(conn.scalar(count, {"after": after}))
        if found >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    with engine.connect() as conn:
        rows = conn.execute(rows_query, {"after": after}).all()
    engine.dispose()
    first, last = min(r[0] for r in rows), max(r[1] for r in rows)
    latencies = [r[1] - r[0] for r in rows]
    return {"count": len(rows), "rate": len({r[0] for r in rows}) / (last - first),
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


def scenario(platform: Platform, url: str, recipients: int, attachment: bool, count: int,
             offered: float = 0.0) -> dict[str, Any]:
    after = last_entry(url)
    # PostgreSQL: the postmaster (the oldest `postgres`), whose descendants are the server's processes
    groups = {"platform": [platform.platform.pid], "broker": pids_of("-f", "beam.smp"),
              "database": pids_of("-o", "-x", "postgres")}
    cpu_before = {name: cpu_seconds(pids) for name, pids in groups.items()}
    load = run_load(platform, message_body(recipients, attachment), count, offered)
    accepted = load["statuses"].get("202", 0)
    figures = delivered(url, after, accepted * recipients)
    per_message = {name: (cpu_seconds(pids) - cpu_before[name]) / max(accepted, 1) * 1000
                   for name, pids in groups.items()}
    per_message["load generator"] = load["load_cpu_s"] / max(accepted, 1) * 1000
    return {**figures, "accepted": accepted, "statuses": load["statuses"], "client_p50_ms": load["client_p50_ms"],
            "client_p99_ms": load["client_p99_ms"], "cpu_ms": per_message}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--offered", type=float, default=300.0)
    parser.add_argument("--light", type=float, default=150.0, help="a second paced load, below saturation (msg/s)")
    parser.add_argument("--workers", type=int, default=1, help="`maillage up --workers N` (processes sharing the port)")
    parser.add_argument("--log-level", default="ERROR",
                        help="the platform's MAILLAGE_LOG_LEVEL (INFO writes the access line of every request, to"
                        " /dev/null; MAILLAGE_HTTP_ACCESS_LOG=off in the environment silences it)")
    parser.add_argument("--role", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "edge":
        edge_only(args.port, args.body)
        return
    ca = make_ca("Bench CA")
    identities = {address: make_identity(ca, address.split("@")[0], email=address) for address in [SENDER, *RECIPIENTS]}
    costs = {"1 recipient, 10 KB": crypto_cost(identities, 1, False),
             "5 recipients, 100 KB PDF": crypto_cost(identities, 5, True, count=100)}
    few = max(500, args.messages // 5)
    with bench_vhost() as uri, bench_database(args.database) as url:
        upgrade("messaging", url)
        raw = raw_ceiling(uri, args.messages, body_size=1_000)
        var_dir = Path(tempfile.mkdtemp())
        edge = edge_ceiling(var_dir, args.messages)
        platform = Platform(uri, url, var_dir, identities, args.workers, args.log_level)
        try:
            scenario(platform, url, 1, False, 300)  # warm-up: imports, caches, connections
            one = scenario(platform, url, 1, False, args.messages)
            five = scenario(platform, url, 5, True, few)
            paced = scenario(platform, url, 1, False, int(args.offered * 20), offered=args.offered)
            light = scenario(platform, url, 1, False, int(args.light * 20), offered=args.light)
        finally:
            platform.stop()
    report(args, raw, edge, costs, one, five, paced, light)


def report(args: argparse.Namespace, raw: dict[str, float], edge: float, costs: dict[str, dict[str, float]],
           one: dict[str, Any], five: dict[str, Any], paced: dict[str, Any], light: dict[str, Any]) -> None:
    line = "  {:<46} {:8.0f} msg/s   p50 {:7.1f} ms   p99 {:7.1f} ms"
    client = "   client p50 {:6.1f} ms  p99 {:6.1f} ms"
    access = "off" if os.environ.get("MAILLAGE_HTTP_ACCESS_LOG", "").strip().lower() in {"off", "false", "0", "no"} \
        else "on"
    print(f"messaging benchmark: {args.database}, `maillage up --workers {args.workers}` (directory + messaging), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end, log level {args.log_level}"
          f" (access lines {access if args.log_level.upper() in {'DEBUG', 'INFO'} else 'not written'})")
    print(line.format("raw broker ceiling (1 KB, saturated)", raw["rate"], raw["p50_ms"], raw["p99_ms"]))
    print(f"  {'bare authenticated HTTP edge (202, no work)':<46} {edge:8.0f} req/s   (one process)")
    print("  latency: accepted (submission time) → committed in the mailbox; client: request sent → 202 read")
    print(line.format(f"HTTP → mailbox, 1 recipient, 10 KB ({one['accepted']})", one["rate"], one["p50_ms"],
                      one["p99_ms"]) + client.format(one["client_p50_ms"], one["client_p99_ms"]))
    print(f"  {'ratio to the raw ceiling':<46} {one['rate'] / raw['rate']:8.1%}   (target ≥ 1,000 msg/s)")
    print(line.format(f"HTTP → mailbox, 5 recipients, 100 KB PDF ({five['accepted']})", five["rate"],
                      five["p50_ms"], five["p99_ms"]) + client.format(five["client_p50_ms"], five["client_p99_ms"])
          + f"   ({five['count']} deliveries)")
    for offered, figures in ((args.offered, paced), (args.light, light)):
        print(line.format(f"at {offered:.0f} msg/s offered ({figures['accepted']})", figures["rate"],
                          figures["p50_ms"], figures["p99_ms"])
              + client.format(figures["client_p50_ms"], figures["client_p99_ms"]))
    print("CPU per message (ms; platform = every `maillage up` process, broker = beam.smp, load generator"
          + (", PostgreSQL = its server processes" if args.database == "postgresql" else "") + "):")
    for name, figures in (("1 recipient, 10 KB", one), ("5 recipients, 100 KB PDF", five),
                          (f"{args.offered:.0f} msg/s offered", paced)):
        cpu = figures["cpu_ms"]
        database = f"   PostgreSQL {cpu['database']:5.2f}" if args.database == "postgresql" else ""
        print(f"  {name:<30} platform {cpu['platform']:5.2f}   broker {cpu['broker']:5.2f}   "
              f"load generator {cpu['load generator']:5.2f}{database}")
    print("crypto per message, one core (MIME build + operator signature + AES-256/RSA-OAEP for recipients"
          " and the sender's copy):")
    for name, cost in costs.items():
        total = sum(cost.values())
        print(f"  {name:<30} {total:6.2f} ms = MIME {cost['mime']:.2f} + sign {cost['sign']:.2f} + encrypt "
              f"{cost['encrypt']:.2f}   (≤ {1000 / total:,.0f} msg/s on one core)")
    for name, figures in (("1 recipient", one), ("5 recipients", five), ("paced", paced), ("light", light)):
        if set(figures["statuses"]) != {"202"}:
            print(f"  note: {name} answers {figures['statuses']}")


if __name__ == "__main__":
    main()
