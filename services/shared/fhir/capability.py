"""FHIR interactions as services declare them, and the one CapabilityStatement of the platform.

Each service declares its FHIR interactions in a module of its own, ``services/<name>/adapters/fhir_capability.py``
(``INTERACTIONS``: a tuple of ``FhirInteraction``), importable without running the service: its routes
use the same objects. ``/fhir/metadata`` lists every declared interaction of every built service of the
registry (``services.shared.registry``), whichever process answers: the modules are imported by name, so
shared code names no service module.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from services.shared import registry

RESOURCE_INTERACTIONS = (
    "read", "vread", "update", "patch", "delete",
    "history-instance", "history-type", "create", "search-type",
)
SYSTEM_INTERACTIONS = ("transaction", "batch", "search-system", "history-system")
SEARCH_PARAM_TYPES = (
    "number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special",
)
DECLARATIONS = "adapters.fhir_capability"  # the module, in each service's package, declaring INTERACTIONS
_SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/restful-security-service"
_PACKAGE = "maillage"


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str | None = None

    def __post_init__(self) -> None:
        if self.type not in SEARCH_PARAM_TYPES:
            raise ValueError(f"Search parameter {self.name!r} has unknown type {self.type!r}.")


@dataclass(frozen=True)
class FhirInteraction:
    """One FHIR RESTful interaction a route implements; system-level ones ignore `resource`."""

    resource: str
    interaction: str
    search_params: tuple[SearchParam, ...] = ()
    profile: str | None = None
    search_includes: tuple[str, ...] = ()  # the _include values a search-type accepts
    documentation: str | None = None  # said of the resource (e.g. the result parameters a search takes)

    def __post_init__(self) -> None:
        if self.interaction not in RESOURCE_INTERACTIONS + SYSTEM_INTERACTIONS:
            raise ValueError(f"{self.interaction!r} is not a FHIR R4 RESTful interaction.")


class Declared(Protocol):
    """What the statement needs from a registered route: its FHIR interaction, if any."""

    @property
    def fhir(self) -> FhirInteraction | None: ...


def declaration_module(service: str) -> str:
    return f"services.{service}.{DECLARATIONS}"


@lru_cache(maxsize=1)
def catalogue() -> tuple[FhirInteraction, ...]:
    """Every interaction the built services declare, loaded by module name; a service without FHIR
    routes has no declarations module."""
    found: list[FhirInteraction] = []
    for service in registry.built_services():
        name = declaration_module(service)
        if importlib.util.find_spec(f"services.{service}.adapters") is None or importlib.util.find_spec(name) is None:
            continue
        found += importlib.import_module(name).INTERACTIONS
    return tuple(found)


@lru_cache(maxsize=1)
def software_version() -> str:
    try:
        return importlib.metadata.version(_PACKAGE)
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def capability_statement(
    providers: Iterable[Declared], base_url: str, *, date: str | None = None,
    declared: Iterable[FhirInteraction] | None = None,
) -> dict[str, Any]:
    """A FHIR R4 CapabilityStatement: the interactions of the registered routes and those every service
    declares (``declared``, by default the ``catalogue()``), whichever of them this process runs."""
    found = [route.fhir for route in providers if route.fhir is not None]
    found += catalogue() if declared is None else declared
    interactions: dict[str, set[str]] = {}
    params: dict[str, dict[str, SearchParam]] = {}
    includes: dict[str, dict[str, None]] = {}
    profiles: dict[str, str] = {}
    documentation: dict[str, str] = {}
    system: set[str] = set()
    for each in found:
        if each.interaction in SYSTEM_INTERACTIONS:
            system.add(each.interaction)
            continue
        interactions.setdefault(each.resource, set()).add(each.interaction)
        for param in each.search_params:
            params.setdefault(each.resource, {})[param.name] = param
        for include in each.search_includes:
            includes.setdefault(each.resource, {})[include] = None
        if each.profile:
            profiles.setdefault(each.resource, each.profile)
        if each.documentation:
            documentation.setdefault(each.resource, each.documentation)
    rest: dict[str, Any] = {"mode": "server", "security": _fhir_security()}
    resources = [
        _resource_entry(name, interactions[name], params.get(name, {}), profiles.get(name),
                        tuple(includes.get(name, ())), documentation.get(name))
        for name in sorted(interactions)
    ]
    if resources:
        rest["resource"] = resources
    if system:
        rest["interaction"] = [{"code": code} for code in SYSTEM_INTERACTIONS if code in system]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date or datetime.now(UTC).date().isoformat(),
        "publisher": "Maillage",
        "kind": "instance",
        "software": {"name": "Maillage", "version": software_version()},
        "implementation": {"description": "Maillage FHIR endpoint", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [rest],
    }


def _fhir_security() -> dict[str, Any]:
    return {
        "service": [{"coding": [{"system": _SECURITY_SYSTEM, "code": "OAuth", "display": "OAuth"}]}],
        "description": "OAuth2 bearer tokens (JWT) from the configured issuer - Pro Santé Connect "
        "in production - sent as 'Authorization: Bearer <token>'.",
    }


def _resource_entry(
    name: str, codes: set[str], params: Mapping[str, SearchParam], profile: str | None,
    includes: tuple[str, ...] = (), documentation: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": name}
    if profile:
        entry["profile"] = profile
    if documentation:
        entry["documentation"] = documentation
    entry["interaction"] = [{"code": code} for code in RESOURCE_INTERACTIONS if code in codes]
    if includes:
        entry["searchInclude"] = list(includes)
    if params:
        entry["searchParam"] = [_search_param(params[key]) for key in sorted(params)]
    return entry


def _search_param(param: SearchParam) -> dict[str, str]:
    out = {"name": param.name, "type": param.type}
    if param.documentation:
        out["documentation"] = param.documentation
    return out
