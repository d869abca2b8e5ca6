"""The messaging benchmark's load generator: as little CPU per request as Python allows, so it leaves the cores
to the platform. Standard library only (its start-up is counted in its CPU share).

    python bench/messaging_load.py PORT TOKEN BODY_FILE COUNT CONCURRENCY OFFERED_PER_SECOND
"""
from __future__ import annotations

import json
import math
import selectors
import socket
import sys
import time
from collections import Counter, deque
from pathlib import Path


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))]


def load_generator(port: int, token: str, body_file: str, count: int, concurrency: int, offered: float) -> None:
    """Keep-alive HTTP/1.1 connections driven by one thread and epoll: as little CPU per request as we can.

    Paced (``offered`` msg/s) the i-th request leaves at ``start + i / offered`` on an idle connection;
    saturated, every connection sends its next request as soon as it has its answer. The latency is the
    client's: request sent → whole answer read.
    """
    body = Path(body_file).read_bytes()
    request = (f"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    selector = selectors.DefaultSelector()
    idle: deque[socket.socket] = deque()
    for _ in range(concurrency):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        idle.append(sock)
    statuses, latencies = Counter[int](), []
    pending: dict[socket.socket, tuple[float, bytearray]] = {}
    sent = done = 0
    started = time.time()
    while done < count:
        now = time.time()
        while idle and sent < count and (not offered or started + sent / offered <= now):
            sock = idle.popleft()
            sock.sendall(request)
            pending[sock] = (time.perf_counter(), bytearray())
            selector.register(sock, selectors.EVENT_READ)
            sent += 1
        wait = None
        if offered and idle and sent < count:
            wait = max(0.0, started + sent / offered - time.time())
        for key, _ in selector.select(wait):
            sock = key.fileobj  # type: ignore[assignment]
            since, buffer = pending[sock]
            buffer += sock.recv(262144)
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = bytes(buffer[:head_end]).lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]) if at >= 0 else 0
            if len(buffer) < head_end + 4 + length:
                continue
            latencies.append(time.perf_counter() - since)
            statuses[int(buffer[9:12])] += 1
            selector.unregister(sock)
            del pending[sock]
            idle.append(sock)
            done += 1
    finished = time.time()
    for sock in idle:
        sock.close()
    print(json.dumps({"statuses": statuses, "started": started, "finished": finished,
                      "client_p50_ms": percentile(latencies, 50) * 1000,
                      "client_p99_ms": percentile(latencies, 99) * 1000}), flush=True)


if __name__ == "__main__":
    port, token, body_file, count, concurrency, offered = sys.argv[1:7]
    load_generator(int(port), token, body_file, int(count), int(concurrency), float(offered))
