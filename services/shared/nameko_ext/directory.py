"""The directory client as a nameko dependency: RPC calls bounded by a timeout, one answer cache per container.

The cache gives way to the directory's certificate events in every process that holds it. A work queue would
hand each event to one process only; the cache lives in each process, so each container consumes from a queue
of its own (exclusive, deleted with its connection) bound to the events exchange. Missing an event while
disconnected leaves an entry at most its TTL (``cache_seconds``).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import eventlet
from kombu.entity import Exchange, Queue, binding
from nameko.exceptions import RemoteError, UnknownService
from nameko.extensions import Extension
from nameko.messaging import QueueConsumer
from nameko.rpc import RpcProxy

from services.shared.bus.envelope import CloudEvent, MalformedEnvelope
from services.shared.bus.topology import EVENTS_EXCHANGE
from services.shared.clients.directory import DirectoryClient, DirectoryUnavailable, TtlCache
from services.shared.contracts import Envelope
from services.shared.contracts.directory_events import (
    CERTIFICATE_PUBLISHED,
    CERTIFICATE_REVOKED,
    CertificatePublished,
    CertificateRevoked,
)
from services.shared.errors import Invalid
from services.shared.logging import get_logger
from services.shared.nameko_ext.config import settings_of
from services.shared.pki.revocation import for_owner

CERTIFICATE_EVENTS = (CERTIFICATE_PUBLISHED, CERTIFICATE_REVOKED)
# Each container's queue: <service>.forget_directory_answers.<12 hex digits>
EVICTION_QUEUE_PREFIX = "forget_directory_answers"
log = get_logger(__name__)


def forget_certificate_event(cache: TtlCache, body: Any) -> int:
    """A certificate event as it came off the bus: evict what it concerns from ``cache`` (0 for a malformed one,
    logged: nothing to evict, the entries expire with their TTL)."""
    try:
        event = CloudEvent.from_dict(body)
        typed: Envelope[CertificatePublished | CertificateRevoked] = (
            event.typed(CertificateRevoked) if event.type == CERTIFICATE_REVOKED else event.typed(CertificatePublished))
    except (MalformedEnvelope, Invalid) as error:
        log.warning("certificate event ignored", reason=str(error))
        return 0
    return DirectoryClient(_no_call, cache).forget(typed)


def _no_call(method: str, **kwargs: Any) -> Any:
    raise AssertionError("evicting cached answers asks the directory nothing")


class CertificateEvents(Extension):
    """Every certificate event, delivered to this container (not to one of the service's containers); acked
    once handed to ``on_event``."""

    queue_consumer = QueueConsumer()

    def __init__(self) -> None:
        self.on_event: Callable[[Any], object] | None = None

    def setup(self) -> None:
        exchange = Exchange(EVENTS_EXCHANGE, type="topic", durable=True, no_declare=True)
        name = f"{self.container.service_name}.{EVICTION_QUEUE_PREFIX}.{uuid.uuid4().hex[:12]}"
        self.queue = Queue(name, bindings=[binding(exchange, routing_key=t) for t in CERTIFICATE_EVENTS],
                           exclusive=True, auto_delete=True, durable=False)
        self.queue_consumer.register_provider(self)

    def stop(self) -> None:
        self.queue_consumer.unregister_provider(self)
        super().stop()

    def handle_message(self, body: Any, message: Any) -> None:
        try:
            if self.on_event is not None:
                self.on_event(body)
        except Exception:  # a managed thread's error would stop the container; the entries expire with their TTL
            log.exception("certificate event not applied to the directory cache")
        finally:
            self.queue_consumer.ack_message(message)


class _TimedOut(Exception):
    pass


class DirectoryProxy(RpcProxy):
    """Workers get a ``DirectoryClient``; resolved mailboxes are cached for all the container's workers.

    ``timeout`` bounds each call (``DirectoryUnavailable`` past it); ``cache_seconds`` and
    ``negative_cache_seconds`` keep known and unknown addresses. A service with settings of its own
    overrides ``configure``. The cache tells the container's certificate revocations of the directory's, and
    gives way to the directory's certificate events (``CertificateEvents``: a queue per container).
    """

    certificate_events = CertificateEvents()

    def __init__(self, *, timeout: float = 2.0, cache_seconds: float = 30.0,
                 negative_cache_seconds: float = 5.0) -> None:
        super().__init__("directory")
        self.timeout, self.cache_seconds, self.negative_cache_seconds = timeout, cache_seconds, negative_cache_seconds
        self.cache: TtlCache | None = None

    def configure(self) -> None:
        """Read the timeout and cache lifetimes from the service's settings (nothing to read by default)."""

    def bind(self, container: Any, attr_name: str) -> DirectoryProxy:
        bound: DirectoryProxy = super().bind(container, attr_name)
        bound.certificate_events.on_event = bound.forget
        return bound

    def setup(self) -> None:
        self.configure()
        self.cache = TtlCache(self.cache_seconds, self.negative_cache_seconds,
                              revocations=for_owner(self.container, settings_of(self.container).pki_crl_files))

    def forget(self, body: Any) -> int:
        """A certificate event's body (a CloudEvent as JSON): this container's cached answers about it go."""
        return 0 if self.cache is None else forget_certificate_event(self.cache, body)

    def get_dependency(self, worker_ctx: Any) -> DirectoryClient:
        proxy = super().get_dependency(worker_ctx)
        assert self.cache is not None, "nameko calls setup() first"
        return DirectoryClient(lambda method, **kwargs: self._call(proxy, method, kwargs), self.cache)

    def _call(self, proxy: Any, method: str, kwargs: dict[str, Any]) -> Any:
        try:
            with eventlet.Timeout(self.timeout, _TimedOut):
                return getattr(proxy, method).call_async(**kwargs).result()
        except _TimedOut:
            raise DirectoryUnavailable(f"The directory did not answer within {self.timeout:g} s; retry.") from None
        except UnknownService:
            raise DirectoryUnavailable("The directory service is not running; retry later.") from None
        except RemoteError as error:
            raise DirectoryUnavailable(f"The directory failed to answer ({error.exc_type}); retry later.") from None
