"""The HTTP edge's settings: defaults, and one sentence naming the variable for a malformed value."""
from __future__ import annotations

import pytest

from services.shared.settings import SettingsError, read_settings


def test_defaults() -> None:
    settings = read_settings({})
    edge = (settings.http_head_timeout_seconds, settings.http_max_connections)
    assert edge == (10, 1000)
    assert (settings.http_body_budget_bytes, settings.http_access_log, settings.public_base_url) == (
        32 * 1024 * 1024, True, None)


def test_values_are_read() -> None:
    settings = read_settings({
        "MAILLAGE_HTTP_HEAD_TIMEOUT_SECONDS": "5", "MAILLAGE_HTTP_MAX_CONNECTIONS": "2000",
        "MAILLAGE_HTTP_BODY_BUDGET_BYTES": "1048576", "MAILLAGE_HTTP_ACCESS_LOG": "off",
        "MAILLAGE_PUBLIC_BASE_URL": "https://api.maillage.example.fr/",
    })
    edge = (settings.http_head_timeout_seconds, settings.http_max_connections)
    assert edge == (5, 2000)
    assert (settings.http_body_budget_bytes, settings.http_access_log) == (1048576, False)
    assert settings.public_base_url == "https://api.maillage.example.fr"


@pytest.mark.parametrize("name, value", [
    ("MAILLAGE_HTTP_HEAD_TIMEOUT_SECONDS", "0"), ("MAILLAGE_HTTP_MAX_CONNECTIONS", "many"),
    ("MAILLAGE_HTTP_BODY_BUDGET_BYTES", "-1"), ("MAILLAGE_HTTP_ACCESS_LOG", "maybe"),
    ("MAILLAGE_PUBLIC_BASE_URL", "maillage.example.fr"), ("MAILLAGE_PUBLIC_BASE_URL", "https://a.fr/?x=1"),
    ("MAILLAGE_PUBLIC_BASE_URL", "javascript:alert(1)"),
])
def test_malformed_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        read_settings({name: value})
