"""The JSON bodies of the messaging API, validated before any use case runs (also its OpenAPI schemas)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.messaging.domain.model import Priority
from services.shared.web.capabilities import INS, MAIL_ADDRESS, UUID


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\\r\n]+$")
    content_type: str = Field(min_length=3, max_length=127,
                              description="application/pdf, text/xml (CDA), application/fhir+json, "
                                          "application/zip (IHE XDM)")
    data: str = Field(description="The file, base64-encoded.")


class BodyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="Plain text; lines end with \\n.")
    html: str | None = Field(default=None, description="An optional HTML alternative.")


class SendMessageIn(BaseModel):
    """Either subject/body/attachments (the platform builds, signs and encrypts), or signed_mime, or encrypted_mime."""

    model_config = ConfigDict(extra="forbid", title="SendMessage")

    sender: str = Field(description="The sender's mailbox; the caller must own it.",
                        json_schema_extra=dict(MAIL_ADDRESS))
    to: list[str] = Field(default_factory=list, json_schema_extra={"items": dict(MAIL_ADDRESS)})
    cc: list[str] = Field(default_factory=list, json_schema_extra={"items": dict(MAIL_ADDRESS)})
    subject: str | None = None
    body: BodyIn | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    cda_code: str | None = Field(default=None, max_length=64, description="X-MSS-CODECDA, required with a CDA.")
    patient_ins: str | None = Field(default=None, json_schema_extra={"anyOf": [dict(INS), {"type": "null"}]},
                                    description="INS (15 characters) when the message is about a patient.")
    priority: Priority = Priority.ROUTINE
    in_reply_to: str | None = Field(default=None, description="The id of the message this one answers.",
                                    json_schema_extra={"anyOf": [dict(UUID), {"type": "null"}]})
    thread_id: str | None = Field(default=None, max_length=64)
    read_receipt: bool = Field(default=False, description="Ask for a read receipt (Disposition-Notification-To).")
    signed_mime: str | None = Field(default=None, description="base64 of an S/MIME entity the sender signed.")
    encrypted_mime: str | None = Field(default=None, description="base64 of an S/MIME entity the sender signed "
                                       "and encrypted (end to end).")


class DeliveryOut(BaseModel):
    address: str
    kind: str
    status: str = Field(description="pending, delivered or bounced")
    code: str | None = None
    reason: str | None = Field(default=None, description="Why it bounced, in French, for the user.")


class ReceiptOut(BaseModel):
    model_config = ConfigDict(title="MessageAccepted")

    id: str
    status: str
    sender: str
    submitted_at: str
    recipients: list[DeliveryOut]
