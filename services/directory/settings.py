"""Settings of the directory service, read once from the environment when the service starts.

The platform's settings (``services.shared.settings.Settings``) hold what every service shares; this class
adds what only the directory reads (docs/operations.md).
"""
from __future__ import annotations

from collections.abc import Mapping

from services.shared.settings import EnvironmentSettings, Positive, variable


class DirectorySettings(EnvironmentSettings):
    # the time one FHIR search may take (SQLite: a progress handler, PostgreSQL: statement_timeout);
    # past it 503 too-costly
    search_timeout_ms: Positive = variable("MAILLAGE_SEARCH_TIMEOUT_MS", 1000)


def read_directory_settings(env: Mapping[str, str] | None = None) -> DirectorySettings:
    return DirectorySettings.read(env)
