"""Response bodies of the directory's JSON API."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.directory.domain.enrolment import Enrolment
from services.directory.domain.model import Cpts
from services.directory.domain.patients import Objection
from services.directory.domain.views import CertificateView

KIT_SENDING = "sent by secure message to the mailbox"
KIT_HELD = ("held: the mailbox has no certificate to encrypt it for yet; it is sent by secure message to the "
            "mailbox as soon as a certificate is published for it (POST /api/v1/directory/certificates)")


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def enrolment(accepted: Enrolment) -> dict[str, Any]:
    return {
        "id": accepted.id, "rpps": accepted.rpps, "idnps": accepted.idnps, "civility": accepted.civility,
        "family": accepted.family, "given": accepted.given, "mailbox": accepted.mailbox,
        "mailbox_type": "PER", "phone1": accepted.phone1, "phone2": accepted.phone2, "address": accepted.address,
        "postal_code": accepted.postal_code, "city": accepted.city, "specialty": accepted.specialty,
        "enrolled_at": _when(accepted.enrolled_at), "certificate_fingerprint": accepted.certificate_fingerprint,
        "account_kit_status": "held" if accepted.kit_held else "sending",
        "account_kit": KIT_HELD if accepted.kit_held else KIT_SENDING,
    }


def certificate(view: CertificateView, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": view.fingerprint, "status": view.status_at(now), "subject": view.subject,
        "issuer": view.issuer, "serial": view.serial, "not_before": _when(view.not_before),
        "not_after": _when(view.not_after), "key_usage": list(view.key_usage), "revoked_at": _when(view.revoked_at),
        "mailbox": view.mailbox, "professional_idnps": view.professional_idnps, "pem": view.pem,
    }


def certificates(views: list[CertificateView], now: datetime) -> dict[str, Any]:
    return {"certificates": [certificate(view, now) for view in views]}


def objection(value: Objection) -> dict[str, Any]:
    return {"objects_to_exchange": value.objects_to_exchange, "refuses_dmp": value.refuses_dmp,
            "recorded_at": _when(value.recorded_at), "recorded_by": value.recorded_by}


def cpts(value: Cpts, finess: str) -> dict[str, Any]:
    return {"id": value.organisation, "finess": finess.upper(), "name": value.name,
            "communes": sorted(value.communes), "postal_codes": sorted(value.postal_codes),
            "members": sorted(value.members)}
