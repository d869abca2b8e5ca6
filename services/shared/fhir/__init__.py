"""The FHIR edge every service shares: search parameters and their bounds, searchset Bundles and their
paging links, OperationOutcome, content negotiation (JSON only; XML is a 406) and the platform's one
CapabilityStatement, assembled from what each service declares."""
from services.shared.fhir.bundle import PageInfo, searchset, subset
from services.shared.fhir.capability import FhirInteraction, SearchParam, capability_statement, catalogue
from services.shared.fhir.negotiation import NotAcceptable, check_accept
from services.shared.fhir.outcome import operation_outcome
from services.shared.fhir.params import (
    ID,
    LAST_UPDATED,
    Criterion,
    DateRange,
    Limits,
    Paging,
    Param,
    Query,
    SearchSpec,
    SortKey,
    is_lenient,
    parse_query,
)

__all__ = [
    "ID", "LAST_UPDATED", "Criterion", "DateRange", "FhirInteraction", "Limits", "NotAcceptable", "PageInfo",
    "Paging", "Param", "Query", "SearchParam", "SearchSpec", "SortKey", "capability_statement", "catalogue",
    "check_accept", "is_lenient", "operation_outcome", "parse_query", "searchset", "subset",
]
