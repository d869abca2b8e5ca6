"""Directory searches as values: criteria (AND) of alternatives (OR), paging, order and includes."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.shared.errors import Unavailable
from services.shared.fhir.params import Criterion, Limits, Paging, SortKey

DEFAULT_COUNT = 20
MAX_COUNT = 100  # a larger _count is served as 100 (FHIR lets the server return fewer)

# What one search may ask: every parameter of every resource is bounded, so that no query string
# costs more than a few milliseconds to parse and plan, or reaches a database limit (SQLite's
# expression depth, its 64-bit integers, PostgreSQL's refusal of NUL).
MAX_OFFSET = 10_000  # deeper pages: narrow the search; the bundle's links stop there
MAX_PARAMETERS = 30  # key=value pairs in one query string, result parameters included
MAX_REPEATS = 5  # the same search parameter repeated (its criteria AND-ed)
MAX_ALTERNATIVES = 50  # comma-separated alternatives in one parameter (OR-ed)
MAX_TERMS = 100  # alternatives over all the criteria of one search: its cost
MAX_KEY_LENGTH = 64  # a parameter name with its modifier
MAX_RAW_LENGTH = 4096  # one parameter's whole value, before it is split
MAX_STRING_LENGTH = 256  # one string alternative (names, cities, postal codes, mailbox addresses)
MAX_REFERENCE_LENGTH = 256  # one reference alternative
MAX_SYSTEM_LENGTH = 256  # the system of a token, before the |
MAX_CODE_LENGTH = 64  # the code or identifier of a token, after the |
LIMITS = Limits(
    default_count=DEFAULT_COUNT, max_count=MAX_COUNT, max_offset=MAX_OFFSET, max_parameters=MAX_PARAMETERS,
    max_repeats=MAX_REPEATS, max_alternatives=MAX_ALTERNATIVES, max_terms=MAX_TERMS, max_key_length=MAX_KEY_LENGTH,
    max_raw_length=MAX_RAW_LENGTH, max_string_length=MAX_STRING_LENGTH, max_reference_length=MAX_REFERENCE_LENGTH,
    max_system_length=MAX_SYSTEM_LENGTH, max_code_length=MAX_CODE_LENGTH,
)


class Resource(StrEnum):
    PRACTITIONER = "Practitioner"
    ROLE = "PractitionerRole"
    ORGANIZATION = "Organization"


class SearchTooCostly(Unavailable):
    """A search ran past its time budget (``MAILLAGE_SEARCH_TIMEOUT_MS``): the caller should narrow it."""

    code = "too-costly"


@dataclass(frozen=True, slots=True)
class Text:
    """A string criterion: an accent- and case-blind prefix, or the exact value."""

    value: str
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Code:
    """A token criterion: a code, in one code system or (``system`` None) in any the parameter allows."""

    code: str
    system: str | None = None


@dataclass(frozen=True, slots=True)
class Search:
    resource: Resource
    criteria: tuple[Criterion, ...] = ()
    paging: Paging = Paging()
    include: tuple[str, ...] = ()  # target parameters of PractitionerRole: practitioner, organization
    ignored: tuple[str, ...] = field(default=())  # what lenient handling left out, said back in the bundle
    sort: tuple[SortKey, ...] = ()  # _sort; none: the resource's own order
    elements: tuple[str, ...] = ()  # _elements: the top-level elements of each match wanted (none: all)
    summary_count: bool = False  # _summary=count: the total only
    pretty: bool = False  # _pretty=true

    def values(self, name: str) -> list[tuple[object, ...]]:
        return [criterion.alternatives for criterion in self.criteria if criterion.name == name]
