"""Why a message is refused or a recipient bounced; bounce reasons are in French, for the sender to read."""
from __future__ import annotations

from enum import StrEnum

from services.shared.errors import Unavailable, Unprocessable


class BounceCode(StrEnum):
    """Machine codes of a bounced recipient; ``reason`` is the sentence the sender reads."""

    UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"
    INACTIVE_RECIPIENT = "INACTIVE_RECIPIENT"
    NO_CERTIFICATE = "NO_CERTIFICATE"
    INVALID_CERTIFICATE = "INVALID_CERTIFICATE"
    NOT_ENCRYPTED_FOR_RECIPIENT = "NOT_ENCRYPTED_FOR_RECIPIENT"

    @property
    def reason(self) -> str:
        return _REASONS[self]


_REASONS = {
    BounceCode.UNKNOWN_RECIPIENT: "Adresse inconnue de l'annuaire : aucune boîte aux lettres sécurisée "
    "ne porte cette adresse.",
    BounceCode.INACTIVE_RECIPIENT: "La boîte aux lettres sécurisée du destinataire est désactivée.",
    BounceCode.NO_CERTIFICATE: "Le destinataire n'a pas de certificat de chiffrement valide dans l'annuaire.",
    BounceCode.INVALID_CERTIFICATE: "Le certificat de chiffrement du destinataire n'est pas utilisable "
    "(expiré, pas encore valide ou inadapté au chiffrement).",
    BounceCode.NOT_ENCRYPTED_FOR_RECIPIENT: "Le message chiffré de bout en bout ne l'a pas été pour le "
    "certificat de ce destinataire : il ne pourrait pas le lire.",
}


class ExchangeObjection(Unprocessable):
    """The patient objects to the exchange of their data between professionals (HTTP 422)."""

    code = "business-rule"

    def __init__(self) -> None:
        super().__init__(
            "Le patient s'est opposé à l'échange de ses données de santé entre professionnels : "
            "le message n'a pas été envoyé.",
            expression="patient_ins",
        )


class IdempotencyKeyReused(Unprocessable):
    """The Idempotency-Key was already used for a different request (HTTP 422)."""

    code = "conflict"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request; use a new key for a new message.",
            expression="Idempotency-Key",
        )


class RecipientNotReady(Unavailable):
    """A platform notice cannot be encrypted for its recipient yet (no usable certificate): retry later."""
