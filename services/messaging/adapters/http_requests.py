"""HTTP requests to commands: the JSON body or an S/MIME body, the caller, and the Idempotency-Key."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from typing import Any

import pydantic
from werkzeug.wrappers import Request

from services.messaging.adapters.api_models import SendMessageIn
from services.messaging.crypto.mime import Attachment
from services.messaging.domain.commands import (
    Content,
    Draft,
    EncryptedByClient,
    Idempotency,
    SignedByClient,
    SubmitMessage,
)
from services.messaging.domain.limits import Limits, check_recipient_count
from services.messaging.domain.model import Author, Priority, Recipient, RecipientKind
from services.shared.errors import Invalid
from services.shared.identifiers import check_ins
from services.shared.identifiers import check_mailbox_address as normalise_address
from services.shared.web.responses import JSON, location, read_json

_KEY = re.compile(r"[\x21-\x7e]{1,255}")
MAX_THREAD_ID = 64
SMIME_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")


def author_of(principal: Any) -> Author:
    return Author(subject=principal.subject, rpps=principal.rpps, finess=principal.finess, service=principal.service)


def idempotency_of(request: Request, author: Author) -> Idempotency | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip().strip('"')
    if not _KEY.fullmatch(key):
        raise Invalid("The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
                      expression="Idempotency-Key")
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.mimetype, _routing_headers(request)):
        digest.update(part.encode() + b"\0")
    digest.update(request.get_data(cache=True))
    return Idempotency(scope=author.subject, key=key, fingerprint=digest.hexdigest())


def _routing_headers(request: Request) -> str:
    return "|".join(request.headers.get(name, "") for name in ("X-Maillage-Sender", "X-Maillage-To", "X-Maillage-Cc"))


def recipients_of(to: list[str], cc: list[str], limits: Limits, *, prefix: str = "") -> tuple[Recipient, ...]:
    """Normalised, duplicates dropped (an address in both to and cc stays in to), 1 to 50 of them."""
    seen: dict[str, Recipient] = {}
    for kind, addresses in ((RecipientKind.TO, to), (RecipientKind.CC, cc)):
        for index, value in enumerate(addresses):
            address = normalise_address(value, field=f"{prefix}{kind.value}[{index}]")
            seen.setdefault(address, Recipient(address, kind))
    check_recipient_count(len(seen), limits)
    return tuple(seen.values())


def send_from_request(request: Request) -> SendMessageIn:
    """The JSON body validated in one pass over its bytes (pydantic's parser, no Python dict in between).

    Only a body that passes is taken this way; any other falls back to ``read_json`` + ``parse_send``,
    so what is refused, and the words of the refusal, do not change.
    """
    if request.mimetype == JSON:
        try:
            return SendMessageIn.model_validate_json(request.get_data(cache=True))
        except (pydantic.ValidationError, ValueError):
            pass
    return parse_send(read_json(request))


def parse_send(data: Any) -> SendMessageIn:
    """Validate a JSON body; the error names the first faulty field."""
    try:
        return SendMessageIn.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = location(first["loc"])
        raise Invalid(f"'{where}': {first['msg']}.", expression=where) from None


def command_from_json(body: SendMessageIn, author: Author, key: Idempotency | None, limits: Limits) -> SubmitMessage:
    return SubmitMessage(
        sender=normalise_address(body.sender, field="sender"),
        recipients=recipients_of(body.to, body.cc, limits),
        author=author, content=_content(body), priority=body.priority,
        patient_ins=check_ins(body.patient_ins) if body.patient_ins is not None else None,
        in_reply_to=message_id_or_none(body.in_reply_to, "in_reply_to"), thread_id=body.thread_id,
        read_receipt=body.read_receipt, idempotency=key,
    )


def _content(body: SendMessageIn) -> Content:
    given = [name for name in ("signed_mime", "encrypted_mime") if getattr(body, name) is not None]
    drafted = body.subject is not None or body.body is not None or bool(body.attachments)
    if len(given) + drafted != 1:
        raise Invalid("Give either subject and body (with attachments), or signed_mime, or encrypted_mime: "
                      "exactly one of the three.", expression="body")
    if given == ["signed_mime"]:
        return SignedByClient(decode_base64(body.signed_mime or "", "signed_mime"))
    if given == ["encrypted_mime"]:
        return EncryptedByClient(decode_base64(body.encrypted_mime or "", "encrypted_mime"))
    if body.subject is None or body.body is None:
        raise Invalid("A message needs 'subject' and 'body'.", expression="subject" if body.subject is None else "body")
    attachments = tuple(Attachment(a.filename, a.content_type.lower(), decode_base64(a.data, f"attachments[{i}].data"))
                        for i, a in enumerate(body.attachments))
    return Draft(body.subject, body.body.text, body.body.html, attachments, body.cda_code)


def command_from_smime(request: Request, author: Author, key: Idempotency | None, limits: Limits) -> SubmitMessage:
    """An S/MIME body: the routing metadata comes in X-Maillage-* headers."""
    headers = request.headers
    sender = headers.get("X-Maillage-Sender")
    if not sender:
        raise Invalid("An S/MIME body needs the X-Maillage-Sender header.", expression="X-Maillage-Sender")
    data = request.get_data(cache=True)
    signed = (request.mimetype_params.get("smime-type") or "").lower() == "signed-data"
    ins = headers.get("X-Maillage-Patient-INS")
    priority = headers.get("X-Maillage-Priority", Priority.ROUTINE.value)
    if priority not in set(Priority):
        raise Invalid("X-Maillage-Priority must be routine, urgent, asap or stat.", expression="X-Maillage-Priority")
    return SubmitMessage(
        sender=normalise_address(sender, field="X-Maillage-Sender"),
        recipients=recipients_of(_listed(headers, "X-Maillage-To"), _listed(headers, "X-Maillage-Cc"), limits,
                                 prefix="X-Maillage-"),
        author=author, content=SignedByClient(data) if signed else EncryptedByClient(data),
        priority=Priority(priority), patient_ins=check_ins(ins, field="X-Maillage-Patient-INS") if ins else None,
        in_reply_to=message_id_or_none(headers.get("X-Maillage-In-Reply-To"), "X-Maillage-In-Reply-To"),
        thread_id=_thread_id(headers.get("X-Maillage-Thread-Id")),
        read_receipt=(headers.get("X-Maillage-Read-Receipt") or "").lower() == "true", idempotency=key,
    )


def _thread_id(value: str | None) -> str | None:
    """As the JSON body's thread_id: at most 64 characters (the column's size: PostgreSQL refused more, a 500)."""
    if value is not None and len(value) > MAX_THREAD_ID:
        raise Invalid(f"X-Maillage-Thread-Id is at most {MAX_THREAD_ID} characters.", expression="X-Maillage-Thread-Id")
    return value or None


def _listed(headers: Any, name: str) -> list[str]:
    return [address for address in (headers.get(name) or "").split(",") if address.strip()]


def decode_base64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"'{field}' is not valid base64.", expression=field) from None


def message_id_or_none(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Invalid(f"'{field}' is not a message id (a UUID).", expression=field) from None
