"""schemas/openapi/messaging.json is the messaging API as its routes declare it, and a valid OpenAPI 3.1.

Regenerate after changing a route: MAILLAGE_UPDATE_SNAPSHOTS=1 pytest tests/unit/messaging/test_openapi_document.py
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from services.messaging.service import MessagingService
from services.shared.web.capabilities import ApiOperation, FhirInteraction, openapi_document
from services.shared.web.entrypoint import HttpEntrypoint

SNAPSHOT = Path(__file__).resolve().parents[3] / "schemas" / "openapi" / "messaging.json"


@dataclass(frozen=True)
class DeclaredRoute:
    method: str
    url: str
    public: bool
    fhir: FhirInteraction | None
    api: ApiOperation | None
    method_name: str | None


def declared_routes() -> list[DeclaredRoute]:
    routes = []
    for name in dir(MessagingService):
        for entrypoint in getattr(getattr(MessagingService, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpEntrypoint):
                routes.append(DeclaredRoute(entrypoint.method, entrypoint.url, entrypoint.public, entrypoint.fhir,
                                            entrypoint.api, name))
    return routes


def document() -> dict[str, Any]:
    built = openapi_document(declared_routes())
    built["info"] = {"title": "Maillage messaging API", "version": "1.0.0",
                     "description": "Secure messages (MSSanté style). See docs/messaging.md."}
    return built


def test_the_snapshot_is_the_declared_api_and_valid() -> None:
    current = document()
    if os.environ.get("MAILLAGE_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n")
    validate(current)
    assert json.loads(SNAPSHOT.read_text()) == current, "run with MAILLAGE_UPDATE_SNAPSHOTS=1 to refresh"
