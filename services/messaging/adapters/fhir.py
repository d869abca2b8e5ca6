"""FHIR R4 Communication in and out: a wire format translated to the same command as the JSON API."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fastjsonschema

from services.shared.errors import Invalid, MaillageError, Unprocessable

INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"  # INS-NIR
# Every system an INS comes under: NIR, NIA (a number the CNAV gave while the NIR is unknown), test and demo.
INS_SYSTEMS = (INS_SYSTEM, "urn:oid:1.2.250.1.213.1.4.9", "urn:oid:1.2.250.1.213.1.4.10",
               "urn:oid:1.2.250.1.213.1.4.11")
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


# The shape of a FHIR R4 Communication (JSON types of every element, those read in depth), checked before
# anything reads it: a wrong type is a 400 naming the element, never a TypeError. A JSON Schema compiled
# once (fastjsonschema: ~20 µs a resource; fhir.resources' models cost 0.2-0.4 ms, too much at 1,000 msg/s).
_TEXT: dict[str, Any] = {"type": "string"}
_TEXTS: dict[str, Any] = {"type": "array", "items": _TEXT}
_OBJECT: dict[str, Any] = {"type": "object"}
_OBJECTS: dict[str, Any] = {"type": "array", "items": _OBJECT}
_IDENTIFIER: dict[str, Any] = {"type": "object", "properties": {
    "use": _TEXT, "system": _TEXT, "value": _TEXT, "type": _OBJECT, "period": _OBJECT, "assigner": _OBJECT}}
_REFERENCE: dict[str, Any] = {"type": "object", "properties": {
    "reference": _TEXT, "type": _TEXT, "identifier": _IDENTIFIER, "display": _TEXT}}
_REFERENCES: dict[str, Any] = {"type": "array", "items": _REFERENCE}
_CODEABLE: dict[str, Any] = {"type": "object", "properties": {"text": _TEXT, "coding": {"type": "array", "items": {
    "type": "object", "properties": {"system": _TEXT, "version": _TEXT, "code": _TEXT, "display": _TEXT,
                                     "userSelected": {"type": "boolean"}}}}}}
_CODEABLES: dict[str, Any] = {"type": "array", "items": _CODEABLE}
_EXTENSIONS: dict[str, Any] = {"type": "array", "items": {"type": "object", "required": ["url"], "properties": {
    "url": _TEXT, "valueBoolean": {"type": "boolean"}, "valueString": _TEXT, "valueCode": _TEXT,
    "extension": _OBJECTS}}}
_ATTACHMENT: dict[str, Any] = {"type": "object", "properties": {
    "contentType": _TEXT, "language": _TEXT, "data": _TEXT, "url": _TEXT, "size": {"type": "integer"},
    "hash": _TEXT, "title": _TEXT, "creation": _TEXT}}
COMMUNICATION_ELEMENTS: dict[str, Any] = {
    "resourceType": {"const": "Communication"}, "id": _TEXT, "meta": _OBJECT, "implicitRules": _TEXT,
    "language": _TEXT, "text": _OBJECT, "contained": _OBJECTS, "extension": _EXTENSIONS,
    "modifierExtension": _OBJECTS, "identifier": {"type": "array", "items": _IDENTIFIER},
    "instantiatesCanonical": _TEXTS, "instantiatesUri": _TEXTS, "basedOn": _REFERENCES, "partOf": _REFERENCES,
    "inResponseTo": _REFERENCES, "status": _TEXT, "statusReason": _CODEABLE, "category": _CODEABLES,
    "priority": _TEXT, "medium": _CODEABLES, "subject": _REFERENCE, "topic": _CODEABLE, "about": _REFERENCES,
    "encounter": _REFERENCE, "sent": _TEXT, "received": _TEXT, "recipient": _REFERENCES, "sender": _REFERENCE,
    "reasonCode": _CODEABLES, "reasonReference": _REFERENCES,
    "payload": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
        "contentString": _TEXT, "contentAttachment": _ATTACHMENT, "contentReference": _REFERENCE,
        "extension": _EXTENSIONS}}},
    "note": _OBJECTS,
}
COMMUNICATION_SCHEMA: dict[str, Any] = {"type": "object", "properties": COMMUNICATION_ELEMENTS}
_check_schema = fastjsonschema.compile(COMMUNICATION_SCHEMA)
_WANTED = {"string": "a string", "object": "a JSON object", "array": "a list", "boolean": "true or false",
           "integer": "a whole number"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


def check_shape(resource: dict[str, Any]) -> None:
    """``Invalid`` naming the first element (FHIRPath) of the wrong JSON type, unknown, or not supported.

    Values are never quoted in the message: they may be health data.
    """
    for name in resource:
        if name not in COMMUNICATION_ELEMENTS and not name.startswith("_"):
            shown = name if _NAME.fullmatch(name) else "?"
            raise Invalid(f"Communication has no element '{shown}'.", expression=f"Communication.{shown}")
    if resource.get("modifierExtension"):
        raise Invalid("Communication.modifierExtension is not supported: the platform would ignore what it "
                      "changes.", expression="Communication.modifierExtension")
    try:
        _check_schema(resource)
    except fastjsonschema.JsonSchemaValueException as error:
        where = _fhirpath(error.path or [])
        if error.rule == "type" and isinstance(error.rule_definition, str):
            raise Invalid(f"{where} must be {_WANTED.get(error.rule_definition, 'of another type')}.",
                          expression=where) from None
        if error.rule == "required":
            raise Invalid(f"{where} needs {', '.join(error.rule_definition)}.", expression=where) from None
        if error.rule == "minItems":
            raise Invalid(f"{where} must not be empty.", expression=where) from None
        raise Invalid(f"{where} is not valid here.", expression=where) from None


def _fhirpath(path: list[Any]) -> str:
    out = "Communication"
    for step in path[1:]:  # the first step is the schema's name for the whole document
        step = str(step)
        out += f"[{step}]" if step.isdigit() else f".{step}"
    return out


def communication_to_request(resource: dict[str, Any]) -> dict[str, Any]:
    """The JSON API body the Communication stands for (validated by the caller like any other).

    The resource's shape is checked first. ``_payload_of_attachment`` maps each attachment back to its
    payload, for error expressions.
    """
    check_shape(resource)
    _patient_only_in_subject(resource)
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


def _ins(subject: dict[str, Any] | None) -> str | None:
    """The patient's INS; a subject named any other way is refused, since its objection could not be checked."""
    if subject is None:
        return None
    if subject.get("reference") is not None:  # a second patient beside the INS, or the only one: unchecked
        raise Unprocessable("Communication.subject must name the patient by INS alone (identifier), not by a "
                            "reference.", expression="Communication.subject.reference")
    if subject.get("type") not in (None, "Patient"):
        raise Unprocessable("Communication.subject must be the patient (type Patient).",
                            expression="Communication.subject.type")
    identifier = subject.get("identifier")
    if identifier is None:
        raise Unprocessable("Communication.subject must identify the patient by INS (identifier with the system "
                            f"{INS_SYSTEM}), so that an objection to the exchange is checked.",
                            expression="Communication.subject.identifier")
    if identifier.get("system") not in INS_SYSTEMS:
        raise Unprocessable(f"Communication.subject.identifier must be an INS: system {INS_SYSTEM} (INS-NIR) or "
                            f"{INS_SYSTEMS[1]} (INS-NIA).", expression="Communication.subject.identifier.system")
    value = identifier.get("value")
    if not value:
        raise Invalid("Communication.subject.identifier.value must hold the INS.",
                      expression="Communication.subject.identifier.value")
    return str(value)


def _patient_only_in_subject(resource: dict[str, Any]) -> None:
    """A patient named elsewhere (about, a contained Patient) would travel without the objection check."""
    for index, reference in enumerate(resource.get("about") or []):
        if _names_a_patient(reference):
            raise Unprocessable("Name the patient in Communication.subject (by INS), not in about.",
                                expression=f"Communication.about[{index}]")
    for index, contained in enumerate(resource.get("contained") or []):
        if contained.get("resourceType") == "Patient":
            raise Unprocessable("Name the patient in Communication.subject (by INS), not as a contained Patient.",
                                expression=f"Communication.contained[{index}]")


def _names_a_patient(reference: dict[str, Any]) -> bool:
    identifier = reference.get("identifier") or {}
    return (reference.get("type") == "Patient" or str(reference.get("reference", "")).startswith("Patient/")
            or identifier.get("system") in INS_SYSTEMS)


def _in_response_to(references: list[dict[str, Any]] | None) -> str | None:
    for reference in references or []:
        ref = reference.get("reference", "")
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
           "body": "Communication.payload", "patient_ins": "Communication.subject.identifier.value",
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
