"""How the HTTP entrypoint answers exceptions that are not the platform's own errors."""
from __future__ import annotations

import json

import sqlalchemy as sa

from services.shared.web.entrypoint import HttpEntrypoint


def entrypoint(url: str) -> HttpEntrypoint:
    found = object.__new__(HttpEntrypoint)  # only what response_from_exception reads
    found.url, found.is_fhir, found.expected_exceptions = url, url.startswith("/fhir"), ()
    return found


def test_a_dropped_database_connection_is_a_503_to_retry_not_a_500() -> None:
    dropped = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"),
                                      connection_invalidated=True)
    for url, kind in (("/api/v1/messages", "detail"), ("/fhir/Communication", "issue")):
        answer = entrypoint(url).response_from_exception(dropped)
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        assert kind in json.loads(answer.get_data())
