"""A bare HTTP/1.1 listener around the platform's connection handler, for tests over real TCP."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import eventlet

from services.shared.web.http11 import serve_connection


@contextlib.contextmanager
def serving(app: Callable[..., Any], *, socket_timeout: float = 5, **options: Any) -> Iterator[tuple[str, int]]:
    """Serve ``app`` on a free loopback port (each connection in its own green thread) until the block ends;
    ``options`` go to serve_connection (e.g. head_timeout)."""
    listener = eventlet.listen(("127.0.0.1", 0))
    address = listener.getsockname()

    def accept() -> None:
        while True:
            sock, peer = listener.accept()
            sock.settimeout(socket_timeout)
            eventlet.spawn(serve_connection, sock, peer, app, address, **options)

    acceptor = eventlet.spawn(accept)
    try:
        yield address
    finally:
        acceptor.kill()
        listener.close()
