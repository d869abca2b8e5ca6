"""Messaging's FHIR interactions, as the platform's CapabilityStatement lists them whichever service
answers /fhir/metadata (``services.shared.fhir.capability.catalogue``). Importable without running the
service; the route (entrypoints/submission.py) declares the same interaction."""
from __future__ import annotations

from services.shared.fhir.capability import FhirInteraction

COMMUNICATION_CREATE = FhirInteraction("Communication", "create")
INTERACTIONS: tuple[FhirInteraction, ...] = (COMMUNICATION_CREATE,)
