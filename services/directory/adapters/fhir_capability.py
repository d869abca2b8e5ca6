"""The directory's FHIR interactions, as its routes declare them and as the platform's CapabilityStatement
lists them whichever service answers /fhir/metadata (``services.shared.fhir.capability.catalogue``).

Importable without running the service: no nameko, no database."""
from __future__ import annotations

from services.directory.adapters.fhir_codes import AS_PROFILE
from services.directory.adapters.fhir_params import result_parameters, search_includes, search_params
from services.directory.domain.search import Resource
from services.shared.fhir.capability import FhirInteraction

SEARCH: dict[Resource, FhirInteraction] = {
    resource: FhirInteraction(resource.value, "search-type", search_params(resource), profile=AS_PROFILE[resource],
                              search_includes=search_includes(resource), documentation=result_parameters(resource))
    for resource in Resource
}
READ: dict[Resource, FhirInteraction] = {
    resource: FhirInteraction(resource.value, "read", profile=AS_PROFILE[resource]) for resource in Resource
}
INTERACTIONS: tuple[FhirInteraction, ...] = (*SEARCH.values(), *READ.values())
