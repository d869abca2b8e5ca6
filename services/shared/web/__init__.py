"""The HTTP edge: one listener per process, @http entrypoints, FHIR and problem+json responses."""
from services.shared.readiness import register_check
from services.shared.web.capabilities import ApiOperation, ApiParam, FhirInteraction, SearchParam
from services.shared.web.entrypoint import http
from services.shared.web.responses import fhir_json, read_fhir_resource, read_json
from services.shared.web.server import EdgeRequest, public_base_url

__all__ = [
    "ApiOperation", "ApiParam", "EdgeRequest", "FhirInteraction", "SearchParam", "fhir_json", "http",
    "public_base_url", "read_fhir_resource", "read_json", "register_check",
]
