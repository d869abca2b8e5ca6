"""The directory client as a nameko dependency: RPC calls bounded by a timeout, one answer cache per container."""
from __future__ import annotations

from typing import Any

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from nameko.rpc import RpcProxy

from services.shared.clients.directory import DirectoryClient, DirectoryUnavailable, TtlCache
from services.shared.nameko_ext.config import settings_of
from services.shared.pki.revocation import for_owner


class _TimedOut(Exception):
    pass


class DirectoryProxy(RpcProxy):
    """Workers get a ``DirectoryClient``; resolved mailboxes are cached for all the container's workers.

    ``timeout`` bounds each call (``DirectoryUnavailable`` past it); ``cache_seconds`` and
    ``negative_cache_seconds`` keep known and unknown addresses. A service with settings of its own
    overrides ``configure``. The cache tells the container's certificate revocations of the directory's.
    """

    def __init__(self, *, timeout: float = 2.0, cache_seconds: float = 30.0,
                 negative_cache_seconds: float = 5.0) -> None:
        super().__init__("directory")
        self.timeout, self.cache_seconds, self.negative_cache_seconds = timeout, cache_seconds, negative_cache_seconds
        self.cache: TtlCache | None = None

    def configure(self) -> None:
        """Read the timeout and cache lifetimes from the service's settings (nothing to read by default)."""

    def setup(self) -> None:
        self.configure()
        self.cache = TtlCache(self.cache_seconds, self.negative_cache_seconds,
                              revocations=for_owner(self.container, settings_of(self.container).pki_crl_files))

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
