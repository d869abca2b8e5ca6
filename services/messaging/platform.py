"""What the messaging use cases need from the platform besides storage and the directory."""
from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from services.messaging.ports import OperatorPort
from services.messaging.settings import MessagingSettings
from services.shared.pki.revocation import Revocations


@dataclass(frozen=True)
class Platform:
    settings: MessagingSettings
    operator: OperatorPort
    trusted: tuple[x509.Certificate, ...] | None = None  # anchors for client signatures; None: integrity only
    revocations: Revocations | None = None  # what client signers' paths are checked against; None: the process's

    @property
    def address(self) -> str:
        return self.settings.platform_address
