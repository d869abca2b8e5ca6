"""FHIR R4 Communication in and out: a wire format translated to the same command as the JSON API."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from services.shared.errors import Invalid, MaillageError

INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"  # INS-NIR
READ_RECEIPT = "https://maillage.fr/fhir/StructureDefinition/read-receipt"
DELIVERY_STATUS = "https://maillage.fr/fhir/StructureDefinition/delivery-status"
MAILBOX_SYSTEM = "urn:ietf:rfc:5322"  # an identifier whose value is a mailbox address
_PRIORITIES = ("routine", "urgent", "asap", "stat")


def address_of(reference: Any, where: str) -> str:
    """`{"identifier": {"value": "a@b"}}` or `{"reference": "mailto:a@b"}`."""
    if isinstance(reference, dict):
        identifier = reference.get("identifier")
        if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
            return str(identifier["value"])
        ref = reference.get("reference")
        if isinstance(ref, str) and ref.startswith("mailto:"):
            return ref[len("mailto:"):]
    raise Invalid(f"{where} must name a mailbox: identifier.value or reference 'mailto:…'.", expression=where)


def communication_to_request(resource: dict[str, Any]) -> dict[str, Any]:
    """The JSON API body the Communication stands for (validated by the caller like any other).

    ``_payload_of_attachment`` maps each attachment back to its payload, for error expressions.
    """
    payload = resource.get("payload") or []
    if not isinstance(payload, list) or not payload:
        raise Invalid("Communication.payload must hold the message text (contentString).",
                      expression="Communication.payload")
    texts, attachments, positions = [], [], []
    for index, item in enumerate(payload):
        if isinstance(item, dict) and isinstance(item.get("contentString"), str):
            texts.append(item["contentString"])
        elif isinstance(item, dict) and isinstance(item.get("contentAttachment"), dict):
            attachments.append(_attachment(item["contentAttachment"], f"Communication.payload[{index}]"))
            positions.append(index)
        else:
            raise Invalid("Each payload is a contentString or a contentAttachment.",
                          expression=f"Communication.payload[{index}]")
    priority = resource.get("priority", "routine")
    if priority not in _PRIORITIES:
        raise Invalid("Communication.priority must be routine, urgent, asap or stat.",
                      expression="Communication.priority")
    recipients = resource.get("recipient") or []
    if not isinstance(recipients, list):
        raise Invalid("Communication.recipient must be a list.", expression="Communication.recipient")
    return {
        "sender": address_of(resource.get("sender"), "Communication.sender"),
        "to": [address_of(r, f"Communication.recipient[{i}]") for i, r in enumerate(recipients)],
        "subject": str((resource.get("topic") or {}).get("text") or ""), "body": {"text": "\n\n".join(texts)},
        "attachments": attachments, "patient_ins": _ins(resource.get("subject")), "priority": priority,
        "in_reply_to": _in_response_to(resource.get("inResponseTo")), "read_receipt": _read_receipt(resource),
        "_payload_of_attachment": positions,
    }


def _attachment(data: dict[str, Any], where: str) -> dict[str, str]:
    if not isinstance(data.get("data"), str) or not isinstance(data.get("contentType"), str):
        raise Invalid(f"{where}.contentAttachment needs contentType and data (base64).", expression=where)
    return {"filename": str(data.get("title") or "piece-jointe"), "content_type": data["contentType"],
            "data": data["data"]}


def _ins(subject: Any) -> str | None:
    if not isinstance(subject, dict):
        return None
    identifier = subject.get("identifier")
    if isinstance(identifier, dict) and identifier.get("system") == INS_SYSTEM:
        return str(identifier.get("value") or "")
    return None


def _in_response_to(references: Any) -> str | None:
    for reference in references or []:
        ref = reference.get("reference", "") if isinstance(reference, dict) else ""
        if ref.startswith("Communication/"):
            return ref.split("/", 1)[1]
    return None


def _read_receipt(resource: dict[str, Any]) -> bool:
    return any(isinstance(ext, dict) and ext.get("url") == READ_RECEIPT and ext.get("valueBoolean") is True
               for ext in resource.get("extension") or [])


def receipt_to_communication(body: dict[str, Any]) -> dict[str, Any]:
    """The accepted Communication: routing only (no payload, topic or subject: the platform keeps no plaintext)."""
    recipients = []
    for delivery in body["recipients"]:
        extension = [{"url": "status", "valueCode": delivery["status"]}]
        if delivery.get("code"):
            extension += [{"url": "code", "valueCode": delivery["code"]},
                          {"url": "reason", "valueString": delivery["reason"]}]
        recipients.append({"identifier": {"system": MAILBOX_SYSTEM, "value": delivery["address"]},
                           "extension": [{"url": DELIVERY_STATUS, "extension": extension}]})
    return {
        "resourceType": "Communication", "id": body["id"], "status": "in-progress", "sent": body["submitted_at"],
        "sender": {"identifier": {"system": MAILBOX_SYSTEM, "value": body["sender"]}}, "recipient": recipients,
    }


_FIELDS = {"sender": "Communication.sender", "to": "Communication.recipient", "subject": "Communication.topic",
           "body": "Communication.payload", "patient_ins": "Communication.subject.identifier",
           "priority": "Communication.priority", "in_reply_to": "Communication.inResponseTo",
           "attachments": "Communication.payload"}
_ATTACHMENT_FIELDS = {"data": "data", "content_type": "contentType", "filename": "title"}
_API_PATH = re.compile(r"^(?P<field>[a-z_]+)(?:\[(?P<index>\d+)\])?(?:\.(?P<rest>.+))?$")


def fhir_expression(expression: str | None, payload_of_attachment: list[int]) -> str | None:
    """An API field path as the FHIRPath of the Communication element it came from."""
    match = _API_PATH.match(expression or "")
    if match is None or match["field"] not in _FIELDS:
        return expression
    base, index = _FIELDS[match["field"]], match["index"]
    if match["field"] == "attachments" and index is not None and int(index) < len(payload_of_attachment):
        where = f"Communication.payload[{payload_of_attachment[int(index)]}].contentAttachment"
        return f"{where}.{_ATTACHMENT_FIELDS.get(match['rest'] or '', 'data')}" if match["rest"] else where
    return f"{base}[{index}]" if index is not None else base


@contextmanager
def fhir_expressions(payload_of_attachment: list[int]) -> Iterator[None]:
    """Errors raised inside name the Communication's elements, not the JSON API's fields."""
    try:
        yield
    except MaillageError as error:
        error.expression = fhir_expression(error.expression, payload_of_attachment)
        raise
