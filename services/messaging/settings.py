"""Settings of the messaging service, read once from the environment when the service starts.

The platform's settings (``services.shared.settings.Settings``) hold what every service shares, the platform
address included; this class adds what only messaging reads (docs/messaging.md, docs/operations.md).
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from services.messaging.domain.limits import MIB, Limits
from services.shared.settings import PLATFORM_ADDRESS, EnvironmentSettings, Settings, SettingsError, variable

MAX_ATTACHMENTS_MB = 20  # what the HTTP entrypoint admits (domain.limits.HTTP_MAX_BODY)


def _within_http_limit(megabytes: float) -> float:
    if megabytes > MAX_ATTACHMENTS_MB:
        raise ValueError(f"cannot exceed {MAX_ATTACHMENTS_MB} (the HTTP body limit)")
    return megabytes


PositiveSeconds = Annotated[float, Field(gt=0)]


class MessagingSettings(EnvironmentSettings):
    # the APP mailbox notices and welcome kits come from: the platform's setting, handed in by
    # read_messaging_settings (MAILLAGE_MESSAGING_PLATFORM_ADDRESS is read once, by Settings)
    platform_address: str = PLATFORM_ADDRESS
    operator_cert: Path | None = variable("MAILLAGE_MESSAGING_OPERATOR_CERT", None)
    operator_key: Path | None = variable("MAILLAGE_MESSAGING_OPERATOR_KEY", None)
    operator_chain: Path | None = variable("MAILLAGE_MESSAGING_OPERATOR_CHAIN", None)
    operator_key_password: str | None = variable("MAILLAGE_MESSAGING_OPERATOR_KEY_PASSWORD", None, repr=False)
    # CA bundle client signatures must chain to (else integrity only)
    trust_anchors: Path | None = variable("MAILLAGE_MESSAGING_TRUST_ANCHORS", None)
    directory_timeout_seconds: PositiveSeconds = variable("MAILLAGE_MESSAGING_DIRECTORY_TIMEOUT_SECONDS", 2.0)
    directory_cache_seconds: PositiveSeconds = variable("MAILLAGE_MESSAGING_DIRECTORY_CACHE_SECONDS", 30.0)
    max_attachments_mb: Annotated[float, Field(gt=0), AfterValidator(_within_http_limit)] = variable(
        "MAILLAGE_MESSAGING_MAX_ATTACHMENTS_MB", MAX_ATTACHMENTS_MB)
    # fixed, not read from the environment (no alias)
    directory_negative_cache_seconds: float = 5.0
    retention_days: int = 30  # how long a deleted message can be restored
    idempotency_hours: int = 24

    @model_validator(mode="after")
    def _operator_pair(self) -> Self:
        if (self.operator_cert is None) != (self.operator_key is None):
            raise SettingsError("Set both MAILLAGE_MESSAGING_OPERATOR_CERT and MAILLAGE_MESSAGING_OPERATOR_KEY, "
                                "or neither.")
        return self

    @property
    def platform_domain(self) -> str:
        return self.platform_address.rpartition("@")[2]

    @cached_property
    def limits(self) -> Limits:
        return Limits(max_attachments_bytes=int(self.max_attachments_mb * MIB))


def read_messaging_settings(platform: Settings, env: Mapping[str, str] | None = None) -> MessagingSettings:
    settings = MessagingSettings.read(env, platform_address=platform.platform_address)
    if platform.production and settings.operator_cert is None:
        raise SettingsError("MAILLAGE_MESSAGING_OPERATOR_CERT and _KEY must name the operator's signing "
                            "certificate and key when MAILLAGE_ENV=production.")
    return settings
