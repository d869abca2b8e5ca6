"""`maillage up`: migrate, declare the bus topology, run the services, stop cleanly on SIGTERM/SIGINT."""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys

import eventlet
import typer
from eventlet.event import Event
from nameko.runners import ServiceRunner
from rich.console import Console

from services.cli import registry
from services.cli.broker import declare_platform_topology
from services.shared.cli_errors import UserError
from services.shared.db.migrations import upgrade
from services.shared.files import private_directory
from services.shared.logging import configure_logging
from services.shared.nameko_ext.config import container_config
from services.shared.settings import Settings, read_settings
from services.shared.web.server import adopt_socket

console = Console(stderr=True)


def up(
    only: str | None = typer.Option(None, "--only", help="Comma-separated services to run, e.g. directory,messaging."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Processes running the services, sharing the HTTP port (SO_REUSEPORT)."),
    listen_fd: int | None = typer.Option(None, "--listen-fd", hidden=True),
) -> None:
    """Run the platform: every service (or --only some) in this process, one HTTP base URL."""
    settings = read_settings()
    configure_logging("platform", settings)
    os.umask(0o077)  # whatever this process writes (databases, keys, var/) is its user's only
    try:
        names = registry.resolve([n.strip() for n in only.split(",") if n.strip()] if only else None)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not names:
        raise UserError("No service is available to run.")
    if listen_fd is None:  # a worker of `--workers N` finds the databases and the bus ready
        private_directory(settings.var_dir, tighten=True)
        for name in names:
            upgrade(name, settings.database_url_for(name))
        declare_platform_topology(settings)
        if workers > 1:
            supervise(settings, names, workers)
            return
    else:
        adopt_socket(settings.http_address, socket.socket(fileno=listen_fd))
    runner = ServiceRunner(container_config(settings))
    for name in names:
        runner.add_service(registry.load(name))
    stopping = Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stopping.ready():
            return
        console.print(f"[yellow]{signal.Signals(signum).name}: stopping Maillage…[/]")
        stopping.send(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.start()
    console.print(f"[green]Maillage is up[/] on http://{settings.http_address} — services: {', '.join(names)}")
    stopping.wait()
    stopper = eventlet.spawn(runner.stop)
    try:
        with eventlet.Timeout(30):
            stopper.wait()
    except eventlet.Timeout:
        runner.kill()
    console.print("Maillage stopped.")


def supervise(settings: Settings, names: list[str], workers: int) -> None:
    """Run ``workers`` processes of the services, each with its own SO_REUSEPORT socket on the one port.

    Each worker is the same platform (its containers, relays and consumers; units of work keep the
    databases consistent between processes). A worker that dies is started again; SIGTERM/SIGINT
    stop them all cleanly; if this supervisor is killed, the kernel kills its workers too.
    """
    host, port = settings.http_address.rsplit(":", 1)
    _refuse_taken_port(host, int(port))
    first = _reuse_port_socket(host, int(port))
    port = first.getsockname()[1]
    sockets = [first] + [_reuse_port_socket(host, port) for _ in range(workers - 1)]
    stopping = Event()
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.ready() or stopping.send(signum))
    signal.signal(signal.SIGINT, lambda signum, _frame: stopping.ready() or stopping.send(signum))
    children = [_start_worker(sock, names) for sock in sockets]
    console.print(f"[green]Maillage is up[/] on http://{settings.http_address} — services: {', '.join(names)}, "
                  f"{workers} processes")
    while not stopping.ready():
        eventlet.sleep(0.5)
        for index, child in enumerate(children):
            if child.poll() is not None and not stopping.ready():
                console.print(f"[yellow]worker {child.pid} ended ({child.returncode}); starting another[/]")
                sockets[index].close()
                sockets[index] = _reuse_port_socket(host, port)
                children[index] = _start_worker(sockets[index], names)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=35)
        except subprocess.TimeoutExpired:
            child.kill()
    console.print("Maillage stopped.")


def _refuse_taken_port(host: str, port: int) -> None:
    """Fail at once if anything listens on the port, another `maillage up --workers` included: our own
    SO_REUSEPORT sockets would otherwise share the port with it instead of failing."""
    if port == 0:
        return
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection's TIME_WAIT is no user
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _start_worker(sock: socket.socket, names: list[str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "services.cli", "up", "--only", ",".join(names), "--listen-fd", str(sock.fileno())]
    return subprocess.Popen(command, pass_fds=(sock.fileno(),), preexec_fn=_die_with_parent)  # noqa: PLW1509


def _die_with_parent() -> None:
    """In the worker, before exec: SIGKILL when the supervisor dies (Linux prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)
