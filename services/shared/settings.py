"""Typed platform settings, read once from the environment at start-up (pydantic-settings).

``EnvironmentSettings`` is the base of every settings class: frozen, validated, a field declared with
``variable(NAME, default)`` is read from the environment variable NAME (a field without one is never read), and a
malformed value stops the start with one ``SettingsError`` sentence naming the variable — never pydantic's
own text. ``Settings`` holds what every service shares; a service with settings of its own adds one small
class (``services/messaging/settings.py``). Building a class directly (``Settings(var_dir=...)``, in tests)
reads no environment: ``read_settings(env)`` and ``EnvironmentSettings.read(env)`` are the only readers.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticUndefined
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

DEV_ISSUER = "https://auth.maillage.localhost/dev"
PLATFORM_ADDRESS = "ne-pas-repondre@maillage.mssante.fr"  # the platform's own sender (notices, account kits)
SERVICE_DATABASE_URL = "MAILLAGE_<SERVICE>_DATABASE_URL"  # one service's database, read by pattern
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


# What a malformed value of a given kind is told, after the variable's name (pydantic's error types).
_SENTENCES = {
    "int_parsing": "must be a whole number, not {input!r}",
    "int_from_float": "must be a whole number, not {input!r}",
    "int_type": "must be a whole number, not {input!r}",
    "float_parsing": "must be a number, not {input!r}",
    "float_type": "must be a number, not {input!r}",
    "greater_than": "must be positive, not {input}",
    "greater_than_equal": "must be {ge} or more, not {input}",
    "less_than_equal": "cannot exceed {le}, not {input}",
    "bool_parsing": "must be on or off, not {input!r}",
    "bool_type": "must be on or off, not {input!r}",
    "literal_error": "must be {expected}, not {input!r}",
    "string_type": "must be text, not {input!r}",
    "path_type": "must be a file path, not {input!r}",
    "extra_forbidden": "is not a setting",
}


def variable(name: str, default: Any = PydanticUndefined, **constraints: Any) -> Any:
    """A field read from the environment variable ``name`` (a pydantic ``Field`` whose validation alias it is).
    Typed ``Any`` so that type checkers take it as the field's default and the field's name as the keyword."""
    return Field(default=default, validation_alias=name, **constraints)


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (``os.environ`` for the platform)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class EnvironmentSettings(BaseSettings):
    """Base of the platform's settings classes; see the module's docstring."""

    PATTERN_VARIABLES: ClassVar[dict[str, str]] = {}  # field -> variable pattern, read by `from_environment`

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", case_sensitive=True, env_ignore_empty=True,  # an empty variable is unset
        validate_by_name=True, validate_by_alias=True,
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the environment is read by `read` only, from the mapping it is given

    @classmethod
    def variables(cls) -> dict[str, str]:
        """The environment variables this class reads: name -> field."""
        return {field.validation_alias: name for name, field in cls.model_fields.items()
                if isinstance(field.validation_alias, str)}

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None, **given: Any) -> Self:
        """The settings from environment variables (``os.environ`` by default); ``given`` values are not read
        from it (what another settings object already decided)."""
        env = os.environ if env is None else env
        known = cls.variables()
        values = {key: value for key, value in _Environment(cls, env)().items() if key in known}
        return cls.build(**cls.from_environment(env), **values, **given)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """Values a class reads from the environment otherwise than one variable per field."""
        return {}

    @classmethod
    def build(cls, **values: Any) -> Self:
        try:
            return cls(**values)
        except ValidationError as error:
            raise SettingsError(cls.sentence(error.errors(include_url=False)[0])) from None

    def with_overrides(self, **changes: Any) -> Self:
        """A copy with some values changed (by field name), validated like the original."""
        return self.build(**{**self.model_dump(), **changes})

    @classmethod
    def variable_of(cls, key: str | int) -> str:
        field = cls.model_fields.get(str(key))
        if field is None:
            return str(key)  # already the alias, or a name the class does not have
        alias = field.validation_alias
        return alias if isinstance(alias, str) else cls.PATTERN_VARIABLES.get(str(key), str(key))

    @classmethod
    def sentence(cls, error: ErrorDetails) -> str:
        """One sentence naming the variable, for the first thing pydantic found wrong."""
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, SettingsError):  # a rule between variables words its own sentence
            return str(cause)
        name = cls.variable_of(error["loc"][0]) if error["loc"] else cls.__name__
        if isinstance(cause, ValueError):  # a validator of ours: the rest of the sentence
            return f"{name} {cause}."
        ctx = {key: str(value).replace("'", "") for key, value in (error.get("ctx") or {}).items()}
        template = _SENTENCES.get(error["type"], "cannot be {input!r}")
        return f"{name} {template.format(input=error['input'], **ctx)}."


def _comma_separated(raw: Any) -> Any:
    """A variable holding a list: comma-separated, blanks dropped (a tuple given directly stays as it is)."""
    return tuple(part.strip() for part in raw.split(",") if part.strip()) if isinstance(raw, str) else raw


def _delays(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"must be comma-separated milliseconds, not {raw!r}") from None


def _stripped(raw: Any) -> Any:
    return raw.strip() if isinstance(raw, str) else raw


def _base_url(raw: str | None) -> str | None:
    """An absolute http(s) URL without query or fragment, without its trailing slash."""
    if not raw:
        return None
    if not _BASE_URL.fullmatch(raw):
        raise ValueError(f"must be an absolute http(s) URL such as https://maillage.example.fr, not {raw!r}")
    return raw.rstrip("/")


def _platform_address(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    address = raw.strip().lower()
    if "@" not in address or not _DOMAIN.fullmatch(address.rpartition("@")[2]):
        raise ValueError(f"must be a mail address, not {address!r}")
    return address


def _domains(raw: Any) -> Any:
    """Comma-separated mail domains, in lower case, each once."""
    if not isinstance(raw, str | tuple | list):
        return raw
    parts = raw.split(",") if isinstance(raw, str) else raw
    domains = tuple(dict.fromkeys(str(part).strip().lower().rstrip(".") for part in parts if str(part).strip()))
    for domain in domains:
        if not _DOMAIN.fullmatch(domain):
            raise ValueError(f"must be comma-separated mail domains, not {raw!r}")
    if not domains:
        raise ValueError("must name at least one mail domain")
    return domains


Positive = Annotated[int, Field(gt=0)]  # a whole number above zero; "must be a whole number" / "must be positive"
# a list in one variable is comma-separated ("a, b"), not the JSON pydantic-settings decodes by default
CommaSeparatedPaths = Annotated[tuple[Path, ...], NoDecode, BeforeValidator(_comma_separated)]


class Settings(EnvironmentSettings):
    """What every service of the platform shares (docs/operations.md lists every variable)."""

    PATTERN_VARIABLES: ClassVar[dict[str, str]] = {"service_database_urls": SERVICE_DATABASE_URL}  # by pattern

    environment: Literal["development", "test", "production"] = variable("MAILLAGE_ENV", "development")
    # URLs carry credentials: kept out of the object's repr
    amqp_uri: str = variable("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", repr=False)
    database_url: str | None = variable("DATABASE_URL", None, repr=False)
    var_dir: Path = variable("MAILLAGE_VAR_DIR", Path("var"))
    http_address: str = variable("MAILLAGE_HTTP_ADDRESS", "127.0.0.1:8080")
    # the whole request head (line and headers) must arrive within it
    http_head_timeout_seconds: Positive = variable("MAILLAGE_HTTP_HEAD_TIMEOUT_SECONDS", 10)
    # open connections per process; beyond, the newest idle or slow one is shed
    http_max_connections: Positive = variable("MAILLAGE_HTTP_MAX_CONNECTIONS", 1000)
    # request bodies buffered at once per process; beyond, 503. One 26 MB message takes ~300 MB while
    # handled (JSON, base64, MIME, CMS copies): 32 MiB keeps a burst's peak RSS under ~600 MB
    http_body_budget_bytes: Positive = variable("MAILLAGE_HTTP_BODY_BUDGET_BYTES", 32 * 1024 * 1024)
    # one line per request: method, route template, status, duration
    http_access_log: Annotated[bool, BeforeValidator(_stripped)] = variable("MAILLAGE_HTTP_ACCESS_LOG", True)
    # the base of the links the API writes (Bundle links, fullUrl)
    public_base_url: Annotated[str | None, BeforeValidator(_stripped), AfterValidator(_base_url)] = variable(
        "MAILLAGE_PUBLIC_BASE_URL", None)
    log_level: str = variable("MAILLAGE_LOG_LEVEL", "INFO")
    log_format: Literal["json", "console"] = variable("MAILLAGE_LOG_FORMAT", "console")  # json in production
    auth_issuer: str = variable("MAILLAGE_AUTH_ISSUER", DEV_ISSUER)
    auth_audience: str = variable("MAILLAGE_AUTH_AUDIENCE", "maillage")
    auth_jwks_url: str | None = variable("MAILLAGE_AUTH_JWKS_URL", None)
    # exp - iat of an accepted bearer token
    auth_max_token_lifetime_seconds: Positive = variable("MAILLAGE_AUTH_MAX_TOKEN_LIFETIME_SECONDS", 3600)
    # CRLs (PEM or DER) checked with every certificate, re-read when changed
    pki_crl_files: CommaSeparatedPaths = variable("MAILLAGE_PKI_CRL_FILES", ())
    bus_max_attempts: Positive = variable("MAILLAGE_BUS_MAX_ATTEMPTS", 5)
    bus_retry_delays_ms: Annotated[tuple[int, ...], NoDecode, BeforeValidator(_delays)] = variable(
        "MAILLAGE_BUS_RETRY_DELAYS_MS", (200, 1000, 5000, 15000))
    bus_delivery_limit: Positive = variable("MAILLAGE_BUS_DELIVERY_LIMIT", 20)
    bus_prefetch: Positive = variable("MAILLAGE_BUS_PREFETCH", 200)
    # AMQP heartbeat asked of the broker; idle connections keep it. nameko's consumers check theirs after a
    # second without traffic: below 3 s they would count a healthy connection as dead
    bus_heartbeat_seconds: int = variable("MAILLAGE_BUS_HEARTBEAT_SECONDS", 30, ge=3)
    relay_batch_size: Positive = variable("MAILLAGE_RELAY_BATCH_SIZE", 500)
    relay_idle_ms: Positive = variable("MAILLAGE_RELAY_IDLE_MS", 50)
    relay_gather_ms: Positive = variable("MAILLAGE_RELAY_GATHER_MS", 10)
    relay_lease_seconds: Positive = variable("MAILLAGE_RELAY_LEASE_SECONDS", 15)
    service_database_urls: dict[str, str] = Field(default_factory=dict, repr=False)  # MAILLAGE_<SERVICE>_DATABASE_URL
    platform_address: Annotated[str, BeforeValidator(_platform_address)] = variable(
        "MAILLAGE_MESSAGING_PLATFORM_ADDRESS", PLATFORM_ADDRESS)
    # where new mailboxes may be created; the platform address's domain by default
    messaging_domains: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_domains)] = variable(
        "MAILLAGE_MESSAGING_DOMAINS", ())

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> dict[str, Any]:
        per_service = {
            key[len("MAILLAGE_"):-len("_DATABASE_URL")].lower(): value
            for key, value in env.items()
            if key.startswith("MAILLAGE_") and key.endswith("_DATABASE_URL") and value
        }
        return {"service_database_urls": per_service}

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, raw: Any) -> Any:
        return raw.upper() if isinstance(raw, str) else raw

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any) -> Any:
        """Defaults that depend on another setting: JSON logs in production, the platform's own domain."""
        if not isinstance(data, dict):
            return data

        def given(field: str) -> Any:
            return data.get(field, data.get(str(cls.model_fields[field].validation_alias)))

        if given("log_format") is None and given("environment") == "production":
            data = {**data, "log_format": "json"}
        if not given("messaging_domains"):
            try:
                address = _platform_address(given("platform_address") or PLATFORM_ADDRESS)
            except ValueError:
                return data  # the address's own validator words the error
            data = {**data, "messaging_domains": address.rpartition("@")[2]}
        return data

    @model_validator(mode="after")
    def _production_issuer(self) -> Self:
        if self.production and self.auth_issuer == DEV_ISSUER:
            raise SettingsError("MAILLAGE_AUTH_ISSUER must name the production issuer when MAILLAGE_ENV=production.")
        return self

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


def _per_service_database(url: str, service: str) -> str:
    if url.startswith("sqlite"):
        base = url.rsplit(".db", 1)[0] if url.endswith(".db") else url
        return f"{base}_{service}.db"
    head, _, tail = url.rpartition("/")
    name, sep, query = tail.partition("?")
    return f"{head}/{name or 'maillage'}_{service}{sep}{query}"


def read_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from environment variables (``os.environ`` by default)."""
    return Settings.read(env)
