"""The directory service: dependency providers, the bus entrypoint, and the routes of entrypoints/."""
from __future__ import annotations

from services.directory.adapters.connections import tune_for_search
from services.directory.adapters.tables import BUS_TABLES
from services.directory.entrypoints.api_admin import AdminRoutes
from services.directory.entrypoints.api_enrolment import EnrolmentRoutes
from services.directory.entrypoints.fhir import FhirRoutes
from services.directory.entrypoints.rpc import RpcMethods
from services.directory.handlers.places import refresh_search_places
from services.shared.contracts import Envelope
from services.shared.contracts.directory_events import DirectoryImported
from services.shared.nameko_ext.config import settings_of
from services.shared.nameko_ext.database import Database
from services.shared.nameko_ext.events import event_handler
from services.shared.nameko_ext.log_context import LogContext
from services.shared.pki.revocation import install_crl_files


class DirectoryDatabase(Database):
    """The platform's Database provider, its engine tuned for directory searches."""

    def setup(self) -> None:
        super().setup()
        assert self.engine is not None
        tune_for_search(self.engine)
        install_crl_files(settings_of(self.container).pki_crl_files)  # checked when certificates are published


class DirectoryService(FhirRoutes, EnrolmentRoutes, AdminRoutes, RpcMethods):
    """Professionals, organisations, mailboxes and certificates: FHIR search, enrolment, RPC for the others."""

    name = "directory"
    db = DirectoryDatabase(BUS_TABLES)
    log_context = LogContext()

    @event_handler(DirectoryImported)
    def refresh_search_places(self, event: Envelope[DirectoryImported]) -> None:
        self.db.handle_once(event, refresh_search_places)
