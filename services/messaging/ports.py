"""The narrow interfaces handlers use; production adapters and in-memory fakes both satisfy them."""
from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Protocol

from cryptography import x509

from services.messaging.domain.model import Mailbox

Clock = Callable[[], datetime]


class DirectoryPort(Protocol):
    def resolve(self, addresses: Collection[str]) -> dict[str, Mailbox | None]:
        """Each address (lower case) to its mailbox, or None when the directory does not know it."""

    def objects_to_exchange(self, ins: str) -> bool:
        """Whether the patient objects to the exchange of their data between professionals."""


class ProfessionalDirectory(DirectoryPort, Protocol):
    def professional_mailboxes(self, identifier: str) -> tuple[str, ...] | None:
        """The mailbox addresses of the professional with this RPPS or IDNPS; None when nobody holds it."""


class OperatorPort(Protocol):
    """The platform's signing identity: attests the authenticated sender of what the platform builds."""

    @property
    def certificate(self) -> x509.Certificate: ...

    def sign(self, mime: bytes) -> bytes:
        """S/MIME SignedData (opaque) over ``mime``."""

    def open(self, sealed: bytes) -> bytes:
        """Decrypt content other services encrypted for the platform (notices over RPC)."""
