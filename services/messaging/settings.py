"""Settings of the messaging service, read once from the environment when the service starts."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.messaging.domain.limits import MIB, Limits
from services.shared.settings import PLATFORM_ADDRESS, Settings, SettingsError


@dataclass(frozen=True)
class MessagingSettings:
    platform_address: str = PLATFORM_ADDRESS  # the APP mailbox notices and welcome kits come from
    operator_cert: Path | None = None
    operator_key: Path | None = None
    operator_chain: Path | None = None
    operator_key_password: str | None = None
    trust_anchors: Path | None = None  # CA bundle client signatures must chain to (else integrity only)
    directory_timeout_seconds: float = 2.0
    directory_cache_seconds: float = 30.0
    directory_negative_cache_seconds: float = 5.0
    retention_days: int = 30  # how long a deleted message can be restored
    idempotency_hours: int = 24
    limits: Limits = Limits()

    @property
    def platform_domain(self) -> str:
        return self.platform_address.rpartition("@")[2]


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value) if value else None


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, not {raw}.")
    return value


def read_messaging_settings(platform: Settings, env: Mapping[str, str] | None = None) -> MessagingSettings:
    env = os.environ if env is None else env
    cert, key = _path(env, "MAILLAGE_MESSAGING_OPERATOR_CERT"), _path(env, "MAILLAGE_MESSAGING_OPERATOR_KEY")
    if (cert is None) != (key is None):
        raise SettingsError("Set both MAILLAGE_MESSAGING_OPERATOR_CERT and MAILLAGE_MESSAGING_OPERATOR_KEY, "
                            "or neither.")
    if platform.production and cert is None:
        raise SettingsError("MAILLAGE_MESSAGING_OPERATOR_CERT and _KEY must name the operator's signing "
                            "certificate and key when MAILLAGE_ENV=production.")
    attachments = int(_number(env, "MAILLAGE_MESSAGING_MAX_ATTACHMENTS_MB", 20) * MIB)
    if attachments > 20 * MIB:
        raise SettingsError("MAILLAGE_MESSAGING_MAX_ATTACHMENTS_MB cannot exceed 20 (the HTTP body limit).")
    return MessagingSettings(
        platform_address=env.get("MAILLAGE_MESSAGING_PLATFORM_ADDRESS", platform.platform_address).strip().lower(),
        operator_cert=cert, operator_key=key, operator_chain=_path(env, "MAILLAGE_MESSAGING_OPERATOR_CHAIN"),
        operator_key_password=env.get("MAILLAGE_MESSAGING_OPERATOR_KEY_PASSWORD") or None,
        trust_anchors=_path(env, "MAILLAGE_MESSAGING_TRUST_ANCHORS"),
        directory_timeout_seconds=_number(env, "MAILLAGE_MESSAGING_DIRECTORY_TIMEOUT_SECONDS", 2.0),
        directory_cache_seconds=_number(env, "MAILLAGE_MESSAGING_DIRECTORY_CACHE_SECONDS", 30.0),
        limits=Limits(max_attachments_bytes=attachments),
    )
