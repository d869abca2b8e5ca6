"""Typed platform settings, read once from the environment at start-up."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

SERVICES = ("directory", "messaging", "dmp_bridge", "coordination", "gateway")
DEV_ISSUER = "https://auth.maillage.localhost/dev"
PLATFORM_ADDRESS = "ne-pas-repondre@maillage.mssante.fr"  # the platform's own sender (notices, account kits)
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str | None = None
    var_dir: Path = Path("var")
    http_address: str = "127.0.0.1:8080"
    http_head_timeout_seconds: float = 10.0  # the whole request head (line and headers) must arrive within it
    http_max_connections: int = 1000  # open connections per process; beyond, the newest idle or slow one is shed
    http_body_budget_bytes: int = 128 * 1024 * 1024  # request bodies buffered at once per process; beyond, 503
    http_access_log: bool = True  # one line per request: method, route template, status, duration
    public_base_url: str | None = None  # the base of the links the API writes (Bundle links, fullUrl)
    log_level: str = "INFO"
    log_format: str = "console"
    auth_issuer: str = DEV_ISSUER
    auth_audience: str = "maillage"
    auth_jwks_url: str | None = None
    auth_max_token_lifetime_seconds: int = 3600  # exp - iat of an accepted bearer token
    pki_crl_files: tuple[Path, ...] = ()  # CRLs (PEM or DER) checked with every certificate, re-read when changed
    bus_max_attempts: int = 5
    bus_retry_delays_ms: tuple[int, ...] = (200, 1000, 5000, 15000)
    bus_delivery_limit: int = 20
    bus_prefetch: int = 200
    bus_heartbeat_seconds: int = 30  # AMQP heartbeat asked of the broker; idle connections keep it
    relay_batch_size: int = 500
    relay_idle_ms: int = 50
    relay_gather_ms: int = 10
    relay_lease_seconds: int = 15
    search_timeout_ms: int = 1000  # one directory search (FHIR): past it, 503 too-costly
    service_database_urls: Mapping[str, str] = field(default_factory=dict)
    platform_address: str = PLATFORM_ADDRESS
    messaging_domains: tuple[str, ...] = ("maillage.mssante.fr",)  # where new mailboxes may be created

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def database_url_for(self, service: str) -> str:
        """One database per service: an explicit URL, a per-service Postgres database, or SQLite."""
        if service in self.service_database_urls:
            return self.service_database_urls[service]
        if self.database_url:
            return _per_service_database(self.database_url, service)
        return f"sqlite:///{(self.var_dir / f'{service}.db').resolve()}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _per_service_database(url: str, service: str) -> str:
    if url.startswith("sqlite"):
        base = url.rsplit(".db", 1)[0] if url.endswith(".db") else url
        return f"{base}_{service}.db"
    head, _, tail = url.rpartition("/")
    name, sep, query = tail.partition("?")
    return f"{head}/{name or 'maillage'}_{service}{sep}{query}"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, not {value}.")
    return value


def _delays(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated milliseconds, not {raw!r}.") from None


def _domains(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """Comma-separated mail domains, in lower case; the platform address's domain when unset."""
    raw = env.get(name) or default
    domains = tuple(dict.fromkeys(part.strip().lower().rstrip(".") for part in raw.split(",") if part.strip()))
    for domain in domains:
        if not _DOMAIN.fullmatch(domain):
            raise SettingsError(f"{name} must be comma-separated mail domains, not {raw!r}.")
    if not domains:
        raise SettingsError(f"{name} must name at least one mail domain.")
    return domains


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off", "true", "false", "1", "0"):
        raise SettingsError(f"{name} must be on or off, not {raw!r}.")
    return raw in ("on", "true", "1")


def _base_url(env: Mapping[str, str], name: str) -> str | None:
    """An absolute http(s) URL without query or fragment, without its trailing slash."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?", raw):
        raise SettingsError(f"{name} must be an absolute http(s) URL such as https://maillage.example.fr, not {raw!r}.")
    return raw.rstrip("/")


def read_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from environment variables (``os.environ`` by default)."""
    env = os.environ if env is None else env
    environment = env.get("MAILLAGE_ENV", "development")
    if environment not in ("development", "test", "production"):
        raise SettingsError(f"MAILLAGE_ENV must be development, test or production, not {environment!r}.")
    per_service = {
        key[len("MAILLAGE_"):-len("_DATABASE_URL")].lower(): value
        for key, value in env.items()
        if key.startswith("MAILLAGE_") and key.endswith("_DATABASE_URL") and value
    }
    platform_address = env.get("MAILLAGE_MESSAGING_PLATFORM_ADDRESS", PLATFORM_ADDRESS).strip().lower()
    if "@" not in platform_address or not _DOMAIN.fullmatch(platform_address.rpartition("@")[2]):
        raise SettingsError(f"MAILLAGE_MESSAGING_PLATFORM_ADDRESS must be a mail address, not {platform_address!r}.")
    settings = Settings(
        environment=environment,
        amqp_uri=env.get("AMQP_URI", Settings.amqp_uri),
        database_url=env.get("DATABASE_URL") or None,
        var_dir=Path(env.get("MAILLAGE_VAR_DIR", "var")),
        http_address=env.get("MAILLAGE_HTTP_ADDRESS", Settings.http_address),
        http_head_timeout_seconds=_int(env, "MAILLAGE_HTTP_HEAD_TIMEOUT_SECONDS", 10),
        http_max_connections=_int(env, "MAILLAGE_HTTP_MAX_CONNECTIONS", Settings.http_max_connections),
        http_body_budget_bytes=_int(env, "MAILLAGE_HTTP_BODY_BUDGET_BYTES", Settings.http_body_budget_bytes),
        http_access_log=_flag(env, "MAILLAGE_HTTP_ACCESS_LOG", Settings.http_access_log),
        public_base_url=_base_url(env, "MAILLAGE_PUBLIC_BASE_URL"),
        log_level=env.get("MAILLAGE_LOG_LEVEL", "INFO").upper(),
        log_format=env.get("MAILLAGE_LOG_FORMAT", "json" if environment == "production" else "console"),
        auth_issuer=env.get("MAILLAGE_AUTH_ISSUER", DEV_ISSUER),
        auth_audience=env.get("MAILLAGE_AUTH_AUDIENCE", "maillage"),
        auth_jwks_url=env.get("MAILLAGE_AUTH_JWKS_URL") or None,
        auth_max_token_lifetime_seconds=_int(env, "MAILLAGE_AUTH_MAX_TOKEN_LIFETIME_SECONDS",
                                             Settings.auth_max_token_lifetime_seconds),
        pki_crl_files=tuple(Path(part.strip()) for part in env.get("MAILLAGE_PKI_CRL_FILES", "").split(",")
                            if part.strip()),
        bus_max_attempts=_int(env, "MAILLAGE_BUS_MAX_ATTEMPTS", Settings.bus_max_attempts),
        bus_retry_delays_ms=_delays(env, "MAILLAGE_BUS_RETRY_DELAYS_MS", Settings.bus_retry_delays_ms),
        bus_delivery_limit=_int(env, "MAILLAGE_BUS_DELIVERY_LIMIT", Settings.bus_delivery_limit),
        bus_prefetch=_int(env, "MAILLAGE_BUS_PREFETCH", Settings.bus_prefetch),
        bus_heartbeat_seconds=_int(env, "MAILLAGE_BUS_HEARTBEAT_SECONDS", Settings.bus_heartbeat_seconds),
        relay_batch_size=_int(env, "MAILLAGE_RELAY_BATCH_SIZE", Settings.relay_batch_size),
        relay_lease_seconds=_int(env, "MAILLAGE_RELAY_LEASE_SECONDS", Settings.relay_lease_seconds),
        search_timeout_ms=_int(env, "MAILLAGE_SEARCH_TIMEOUT_MS", Settings.search_timeout_ms),
        relay_idle_ms=_int(env, "MAILLAGE_RELAY_IDLE_MS", Settings.relay_idle_ms),
        relay_gather_ms=_int(env, "MAILLAGE_RELAY_GATHER_MS", Settings.relay_gather_ms),
        service_database_urls=per_service,
        platform_address=platform_address,
        messaging_domains=_domains(env, "MAILLAGE_MESSAGING_DOMAINS", platform_address.rpartition("@")[2]),
    )
    if settings.bus_heartbeat_seconds < 3:  # nameko's consumers check theirs after a second without traffic
        raise SettingsError("MAILLAGE_BUS_HEARTBEAT_SECONDS must be 3 or more.")
    if settings.production and settings.auth_issuer == DEV_ISSUER:
        raise SettingsError("MAILLAGE_AUTH_ISSUER must name the production issuer when MAILLAGE_ENV=production.")
    if settings.log_format not in ("json", "console"):
        raise SettingsError(f"MAILLAGE_LOG_FORMAT must be json or console, not {settings.log_format!r}.")
    return settings
