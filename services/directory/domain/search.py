"""Directory searches as values: criteria (AND) of alternatives (OR), paging and includes."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_COUNT = 20
MAX_COUNT = 100


class Resource(StrEnum):
    PRACTITIONER = "Practitioner"
    ROLE = "PractitionerRole"
    ORGANIZATION = "Organization"


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
class Criterion:
    """One search parameter as asked: ``key`` (with its modifier) and ``raw`` value, for the self link."""

    name: str
    key: str
    raw: str
    alternatives: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Paging:
    offset: int = 0
    count: int = DEFAULT_COUNT
    total: bool = True


@dataclass(frozen=True, slots=True)
class Search:
    resource: Resource
    criteria: tuple[Criterion, ...] = ()
    paging: Paging = Paging()
    include: tuple[str, ...] = ()  # target parameters of PractitionerRole: practitioner, organization
    ignored: tuple[str, ...] = field(default=())  # what lenient handling left out, said back in the bundle

    def values(self, name: str) -> list[tuple[object, ...]]:
        return [criterion.alternatives for criterion in self.criteria if criterion.name == name]
