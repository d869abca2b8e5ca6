"""The platform's services, by name: the one list `maillage up`, the CLI and the settings read.

Shared code imports no service, so a service is named here by the dotted path of its nameko class and
imported only by whoever runs it (``services.cli.registry.load``). A service that is planned but not built
yet has no class: it is known (its package exists, its database variable is documented) but cannot run.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceEntry:
    name: str  # the package under services/, the nameko service name, the `<name>` of its database
    service_class: str | None = None  # "module:Class" of the nameko service once the service is built

    @property
    def built(self) -> bool:
        return self.service_class is not None


SERVICES: tuple[ServiceEntry, ...] = (
    ServiceEntry("directory", "services.directory.service:DirectoryService"),
    ServiceEntry("messaging", "services.messaging.service:MessagingService"),
    ServiceEntry("coordination"),  # hospital ADT notifications: not built yet
    ServiceEntry("dmp_bridge"),  # the VSM to the DMP: not built yet
)


def service_names() -> tuple[str, ...]:
    """Every service of the platform, built or planned."""
    return tuple(entry.name for entry in SERVICES)


def built_services() -> dict[str, str]:
    """The services that can run: name -> "module:Class" of their nameko class, in the registry's order."""
    return {entry.name: entry.service_class for entry in SERVICES if entry.service_class is not None}
