"""Published contracts of the services: event models (one module per family) and clients of other services.

Services may import these, never each other's modules. Importing this package declares every event type.
"""
from services.shared.contracts import directory_events, messaging_events
from services.shared.contracts.events import Envelope, EventData, contract_for, contracts

__all__ = ["Envelope", "EventData", "contract_for", "contracts", "directory_events", "messaging_events"]
