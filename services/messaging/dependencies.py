"""nameko dependency providers: the directory over RPC (timeout, cache) and the platform's signing identity."""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from nameko.extensions import DependencyProvider

from services.messaging.adapters.operator import Operator, dev_operator, load_operator
from services.messaging.handlers.group_commit import GroupCommit
from services.messaging.handlers.submission import write_submissions
from services.messaging.platform import Platform
from services.messaging.settings import MessagingSettings, read_messaging_settings
from services.shared.nameko_ext.config import settings_of
from services.shared.nameko_ext.directory import DirectoryProxy
from services.shared.pki.certs import load_certificates
from services.shared.pki.revocation import for_owner


def utc_now() -> datetime:
    return datetime.now(UTC)


class Directory(DirectoryProxy):
    """Workers get the shared directory client; timeout and cache lifetimes from the messaging settings."""

    def configure(self) -> None:
        settings = read_messaging_settings(settings_of(self.container))
        self.timeout = settings.directory_timeout_seconds
        self.cache_seconds = settings.directory_cache_seconds
        self.negative_cache_seconds = settings.directory_negative_cache_seconds


class CommitHandle:
    """A worker's access to the container's group commit, carrying the worker's trace."""

    def __init__(self, group: GroupCommit, traceparent: str | None) -> None:
        self.group, self.traceparent = group, traceparent

    def bind(self, new_uow: Callable[[], Any]) -> Callable[[Any], Any]:
        return lambda prepared: self.group.commit(prepared, new_uow=new_uow, traceparent=self.traceparent)


class Committer(DependencyProvider):
    """One group commit per container: concurrent HTTP submissions share their transaction."""

    def setup(self) -> None:
        self.group = GroupCommit(functools.partial(write_submissions, clock=utc_now))

    def get_dependency(self, worker_ctx: Any) -> CommitHandle:
        return CommitHandle(self.group, worker_ctx.data.get("traceparent"))


class PlatformIdentity(DependencyProvider):
    """The operator key and settings, loaded once when the container starts."""

    def __init__(self) -> None:
        self.platform: Platform | None = None

    def setup(self) -> None:
        shared = settings_of(self.container)
        settings = read_messaging_settings(shared)
        revocations = for_owner(self.container, shared.pki_crl_files)  # the admin's CRLs, the directory's revocations
        self.platform = Platform(settings, _operator(settings, shared.var_dir), _trusted(settings), revocations)

    def get_dependency(self, worker_ctx: Any) -> Platform:
        assert self.platform is not None, "nameko calls setup() first"
        return self.platform


def _operator(settings: MessagingSettings, var_dir: Path) -> Operator:
    if settings.operator_cert is None or settings.operator_key is None:
        return dev_operator(var_dir, settings.platform_address)
    password = settings.operator_key_password.encode() if settings.operator_key_password else None
    return load_operator(settings.operator_cert, settings.operator_key, settings.operator_chain, password)


def _trusted(settings: MessagingSettings) -> tuple[x509.Certificate, ...] | None:
    if settings.trust_anchors is None:
        return None
    return tuple(load_certificates(settings.trust_anchors.read_bytes()))
