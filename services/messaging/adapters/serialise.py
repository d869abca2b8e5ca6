"""Domain values as the JSON the mailbox API answers with (routing metadata and ciphertext only)."""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from services.messaging.domain.commands import MailboxQuery
from services.messaging.domain.errors import BounceCode
from services.messaging.domain.model import DeliveryView, EntryView, Page, Receipt

SMIME_ENVELOPED = "application/pkcs7-mime; smime-type=enveloped-data"


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds")


def mailbox_path(address: str) -> str:
    return f"/api/v1/mailboxes/{quote(address, safe='@')}/messages"


def delivery_body(view: DeliveryView, *, show_read: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"address": view.recipient, "kind": view.kind.value, "status": view.status.value}
    if view.code:
        body["code"] = view.code
        body["reason"] = BounceCode(view.code).reason
    if view.delivered_at:
        body["delivered_at"] = iso(view.delivered_at)
    if view.read_at and show_read:
        body["read_at"] = iso(view.read_at)
    return body


def receipt_body(receipt: Receipt) -> dict[str, Any]:
    return {
        "id": receipt.message_id,
        "status": "accepted",
        "sender": receipt.sender,
        "submitted_at": iso(receipt.submitted_at),
        "recipients": [delivery_body(view) for view in receipt.deliveries],
        "links": {"sent": f"{mailbox_path(receipt.sender)}/{receipt.message_id}?folder=sent"},
    }


def entry_body(entry: EntryView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": entry.message_id, "mailbox": entry.mailbox, "folder": entry.folder.value, "sender": entry.sender,
        "submitted_at": iso(entry.submitted_at), "delivered_at": iso(entry.delivered_at),
        "read": entry.read_at is not None, "read_at": iso(entry.read_at), "priority": entry.priority.value,
        "mode": entry.mode.value, "size": entry.size, "thread_id": entry.thread_id,
        "in_reply_to": entry.in_reply_to, "read_receipt_requested": entry.receipt_requested,
    }
    if entry.deleted_at is not None:
        body["deleted_at"] = iso(entry.deleted_at)
    if entry.deliveries:
        body["recipients"] = [delivery_body(v, show_read=entry.receipt_requested) for v in entry.deliveries]
    if entry.ciphertext is not None:
        body["content_type"] = SMIME_ENVELOPED
        body["ciphertext"] = base64.b64encode(entry.ciphertext).decode()
    return body


def page_body(page: Page, query: MailboxQuery) -> dict[str, Any]:
    body: dict[str, Any] = {"mailbox": query.mailbox, "folder": query.folder.value,
                            "messages": [entry_body(entry) for entry in page.entries], "next": None}
    if page.next_cursor:
        params: dict[str, str] = {"folder": query.folder.value, "limit": str(query.limit), "cursor": page.next_cursor}
        if query.unread:
            params["unread"] = "true"
        if query.since:
            params["since"] = iso(query.since) or ""
        if query.deleted:
            params["deleted"] = "true"
        body["next"] = f"{mailbox_path(query.mailbox)}?{urlencode(params)}"
    return body
