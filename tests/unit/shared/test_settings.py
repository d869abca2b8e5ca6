"""Settings: every variable the operations guide documents is read and every one read is documented, the Helm
chart sets only known variables, a malformed value is one sentence naming its variable, and the objects are
frozen values that read no environment unless asked to."""
from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pydantic
import pytest

from services.cli import registry as cli_registry
from services.shared import registry
from services.shared.settings import (
    SERVICE_DATABASE_URL,
    EnvironmentSettings,
    Settings,
    SettingsError,
    read_settings,
)

ROOT = Path(__file__).resolve().parents[3]
OPERATIONS = ROOT / "docs" / "operations.md"
CHART = ROOT / "deploy" / "k8s" / "maillage" / "templates"


def settings_classes() -> list[type[EnvironmentSettings]]:
    """The platform's settings and each service's own class (``services/<name>/settings.py``, if any)."""
    for name in registry.service_names():
        if importlib.util.find_spec(f"services.{name}") and importlib.util.find_spec(f"services.{name}.settings"):
            importlib.import_module(f"services.{name}.settings")
    found: list[type[EnvironmentSettings]] = []
    pending: list[type[EnvironmentSettings]] = [EnvironmentSettings]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return found


def read_variables() -> set[str]:
    """Every variable some settings class reads, with the per-service database URL's pattern."""
    names = {SERVICE_DATABASE_URL}
    for cls in settings_classes():
        names |= set(cls.variables())
    return names


def documented_variables() -> set[str]:
    """The variables of the table under "## Configure" in docs/operations.md (first column)."""
    section = OPERATIONS.read_text(encoding="utf-8").split("## Configure", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "the Configure table of docs/operations.md was not found"
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_<>]*)`", row.split("|")[1])}


def chart_variables() -> set[str]:
    """Variables the chart sets: the ConfigMap's keys and the containers' env (secrets)."""
    configmap = (CHART / "configmap.yaml").read_text(encoding="utf-8")
    names = set(re.findall(r"^\s+([A-Z][A-Z0-9_]+):", configmap, re.MULTILINE))
    helpers = (CHART / "_helpers.tpl").read_text(encoding="utf-8")
    names |= set(re.findall(r"^- name: ([A-Z][A-Z0-9_]+)$", helpers, re.MULTILINE))
    if 'printf "MAILLAGE_%s_DATABASE_URL"' in helpers:
        names.add(SERVICE_DATABASE_URL)
    return names


def test_the_settings_classes_are_the_platforms_and_the_services() -> None:
    assert {cls.__name__ for cls in settings_classes()} >= {"Settings", "MessagingSettings", "DirectorySettings"}


def test_every_documented_variable_is_read_and_every_variable_read_is_documented() -> None:
    documented, read = documented_variables(), read_variables()
    assert documented - read == set(), "documented in docs/operations.md but read by no settings class"
    assert read - documented == set(), "read by a settings class but missing from docs/operations.md"


def test_a_variable_is_read_by_one_class_only() -> None:
    owners: dict[str, list[str]] = {}
    for cls in settings_classes():
        for name in cls.variables():
            owners.setdefault(name, []).append(cls.__name__)
    assert {name: classes for name, classes in owners.items() if len(classes) > 1} == {}


def test_the_chart_sets_only_variables_the_settings_read() -> None:
    chart = chart_variables()
    assert {"MAILLAGE_ENV", "AMQP_URI", "DATABASE_URL", "MAILLAGE_SEARCH_TIMEOUT_MS"} <= chart  # the parse works
    assert chart - read_variables() == set()


# one malformed value per variable, and what its sentence must say after the variable's name
MALFORMED = [
    ("MAILLAGE_ENV", "prod", "must be development, test or production, not 'prod'."),
    ("MAILLAGE_HTTP_HEAD_TIMEOUT_SECONDS", "0", "must be positive, not 0."),
    ("MAILLAGE_HTTP_MAX_CONNECTIONS", "many", "must be a whole number, not 'many'."),
    ("MAILLAGE_HTTP_BODY_BUDGET_BYTES", "-1", "must be positive, not -1."),
    ("MAILLAGE_HTTP_ACCESS_LOG", "maybe", "must be on or off, not 'maybe'."),
    ("MAILLAGE_PUBLIC_BASE_URL", "maillage.example.fr", "must be an absolute http(s) URL"),
    ("MAILLAGE_LOG_FORMAT", "xml", "must be json or console, not 'xml'."),
    ("MAILLAGE_AUTH_MAX_TOKEN_LIFETIME_SECONDS", "soon", "must be a whole number, not 'soon'."),
    ("MAILLAGE_BUS_MAX_ATTEMPTS", "1.5", "must be a whole number, not '1.5'."),
    ("MAILLAGE_BUS_RETRY_DELAYS_MS", "200,,1000", "must be comma-separated milliseconds, not '200,,1000'."),
    ("MAILLAGE_BUS_DELIVERY_LIMIT", "0", "must be positive, not 0."),
    ("MAILLAGE_BUS_PREFETCH", "lots", "must be a whole number, not 'lots'."),
    ("MAILLAGE_BUS_HEARTBEAT_SECONDS", "2", "must be 3 or more, not 2."),
    ("MAILLAGE_RELAY_BATCH_SIZE", "x", "must be a whole number, not 'x'."),
    ("MAILLAGE_RELAY_IDLE_MS", "0", "must be positive, not 0."),
    ("MAILLAGE_RELAY_GATHER_MS", "-5", "must be positive, not -5."),
    ("MAILLAGE_RELAY_LEASE_SECONDS", "1e3", "must be a whole number, not '1e3'."),
    ("MAILLAGE_SEARCH_TIMEOUT_MS", "fast", "must be a whole number, not 'fast'."),
    ("MAILLAGE_MESSAGING_PLATFORM_ADDRESS", "no-address", "must be a mail address, not 'no-address'."),
    ("MAILLAGE_MESSAGING_DOMAINS", " , ", "must name at least one mail domain."),
    ("MAILLAGE_MESSAGING_DOMAINS", "maillage.mssante.fr,@evil", "must be comma-separated mail domains"),
    ("MAILLAGE_MESSAGING_MAX_ATTACHMENTS_MB", "25", "cannot exceed 20 (the HTTP body limit)."),
    ("MAILLAGE_MESSAGING_MAX_ATTACHMENTS_MB", "big", "must be a number, not 'big'."),
    ("MAILLAGE_MESSAGING_DIRECTORY_TIMEOUT_SECONDS", "0", "must be positive, not 0."),
    ("MAILLAGE_MESSAGING_DIRECTORY_CACHE_SECONDS", "soon", "must be a number, not 'soon'."),
]


def owner_of(variable: str) -> type[EnvironmentSettings]:
    return next(cls for cls in settings_classes() if variable in cls.variables())


@pytest.mark.parametrize("variable, value, said", MALFORMED)
def test_a_malformed_value_is_one_sentence_naming_the_variable(variable: str, value: str, said: str) -> None:
    with pytest.raises(SettingsError) as caught:
        owner_of(variable).read({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable} {said}")
    assert message.endswith(".") and "\n" not in message and "Input should" not in message
    assert not isinstance(caught.value.__cause__, pydantic.ValidationError)  # raised `from None`


def test_every_variable_that_can_be_malformed_has_a_case() -> None:
    free_text = {"AMQP_URI", "DATABASE_URL", "MAILLAGE_VAR_DIR", "MAILLAGE_HTTP_ADDRESS", "MAILLAGE_LOG_LEVEL",
                 "MAILLAGE_AUTH_ISSUER", "MAILLAGE_AUTH_AUDIENCE", "MAILLAGE_AUTH_JWKS_URL", "MAILLAGE_PKI_CRL_FILES",
                 "MAILLAGE_MESSAGING_OPERATOR_CERT", "MAILLAGE_MESSAGING_OPERATOR_KEY",
                 "MAILLAGE_MESSAGING_OPERATOR_CHAIN", "MAILLAGE_MESSAGING_OPERATOR_KEY_PASSWORD",
                 "MAILLAGE_MESSAGING_TRUST_ANCHORS"}  # any text is a value (checked where it is used)
    assert read_variables() - {SERVICE_DATABASE_URL} - free_text == {variable for variable, _, _ in MALFORMED}


def test_rules_between_variables_are_one_sentence_too() -> None:
    with pytest.raises(SettingsError, match=r"^MAILLAGE_AUTH_ISSUER must name the production issuer when "
                                            r"MAILLAGE_ENV=production\.$"):
        read_settings({"MAILLAGE_ENV": "production"})
    from services.messaging.settings import read_messaging_settings
    platform = read_settings({})
    with pytest.raises(SettingsError, match=r"^Set both MAILLAGE_MESSAGING_OPERATOR_CERT and "
                                            r"MAILLAGE_MESSAGING_OPERATOR_KEY, or neither\.$"):
        read_messaging_settings(platform, {"MAILLAGE_MESSAGING_OPERATOR_CERT": "/etc/operator.pem"})
    production = read_settings({"MAILLAGE_ENV": "production", "MAILLAGE_AUTH_ISSUER": "https://psc"})
    with pytest.raises(SettingsError, match=r"^MAILLAGE_MESSAGING_OPERATOR_CERT and _KEY must name"):
        read_messaging_settings(production, {})


def test_values_are_read_with_their_documented_defaults() -> None:
    settings = read_settings({})
    assert (settings.environment, settings.amqp_uri, settings.database_url) == (
        "development", "amqp://guest:guest@127.0.0.1:5672/", None)
    assert (settings.var_dir, settings.http_address, settings.log_level, settings.log_format) == (
        Path("var"), "127.0.0.1:8080", "INFO", "console")
    assert (settings.bus_max_attempts, settings.bus_retry_delays_ms, settings.bus_delivery_limit) == (
        5, (200, 1000, 5000, 15000), 20)
    bus = (settings.bus_prefetch, settings.relay_batch_size, settings.relay_lease_seconds)
    assert bus == (200, 500, 15)
    assert (settings.relay_idle_ms, settings.relay_gather_ms) == (50, 10)
    read = read_settings({
        "MAILLAGE_ENV": "production", "MAILLAGE_AUTH_ISSUER": "https://psc", "AMQP_URI": "amqp://rabbit/",
        "DATABASE_URL": "postgresql://db/maillage", "MAILLAGE_DIRECTORY_DATABASE_URL": "postgresql://other/dir",
        "MAILLAGE_BUS_RETRY_DELAYS_MS": "100,200", "MAILLAGE_LOG_LEVEL": "debug", "MAILLAGE_VAR_DIR": "/srv/m",
        "MAILLAGE_PKI_CRL_FILES": "/a.crl, ,/b.pem", "MAILLAGE_HTTP_ACCESS_LOG": "", "MAILLAGE_UNKNOWN": "ignored",
    })
    assert (read.production, read.log_format, read.log_level) == (True, "json", "DEBUG")  # JSON in production
    assert (read.amqp_uri, read.bus_retry_delays_ms, read.var_dir) == ("amqp://rabbit/", (100, 200), Path("/srv/m"))
    assert read.pki_crl_files == (Path("/a.crl"), Path("/b.pem"))
    assert read.http_access_log is True  # empty: unset
    assert read.database_url_for("directory") == "postgresql://other/dir"
    assert read.database_url_for("messaging") == "postgresql://db/maillage_messaging"


def test_building_settings_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILLAGE_BUS_PREFETCH", "7")
    monkeypatch.setenv("bus_prefetch", "7")
    assert Settings().bus_prefetch == 200 and Settings(bus_prefetch=3).bus_prefetch == 3
    assert read_settings().bus_prefetch == 7  # the process environment when none is given
    assert read_settings({}).bus_prefetch == 200


def test_settings_are_frozen_and_overrides_are_validated(tmp_path: Path) -> None:
    settings = read_settings({})
    with pytest.raises(pydantic.ValidationError):
        settings.bus_prefetch = 1  # type: ignore[misc]
    changed = settings.with_overrides(var_dir=tmp_path, bus_prefetch=10)
    assert (changed.var_dir, changed.bus_prefetch, settings.bus_prefetch) == (tmp_path, 10, 200)
    assert changed.with_overrides(bus_prefetch=200, var_dir=Path("var")) == settings
    with pytest.raises(SettingsError, match=r"^MAILLAGE_BUS_PREFETCH must be positive, not 0\.$"):
        settings.with_overrides(bus_prefetch=0)
    with pytest.raises(SettingsError, match=r"^bus_prefech is not a setting\.$"):
        settings.with_overrides(bus_prefech=1)


def test_credentials_stay_out_of_the_repr() -> None:
    settings = read_settings({"AMQP_URI": "amqp://u:secret@rabbit/", "DATABASE_URL": "postgresql://u:secret@db/m",
                              "MAILLAGE_MESSAGING_DATABASE_URL": "postgresql://u:secret@db/x"})
    assert "secret" not in repr(settings)


def test_one_service_registry() -> None:
    built = registry.built_services()
    assert cli_registry.available() == list(built) == ["directory", "messaging"]
    on_disk = {path.name for path in (ROOT / "services").iterdir()
               if (path / "__init__.py").is_file() and path.name not in ("shared", "cli")}
    assert set(registry.service_names()) == on_disk  # every service package is registered, built or not
    for name in built:
        assert cli_registry.load(name).name == name  # the nameko service's name is its registry name
