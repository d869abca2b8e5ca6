"""A small HTTP client of the messaging API for the `maillage mail` commands (standard library only)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

from services.shared.cli_errors import UserError


class MailClient:
    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def send(self, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return _object(self._request("POST", "/api/v1/messages", json.dumps(body).encode(), headers))

    def list(self, mailbox: str, **params: str) -> dict[str, Any]:
        query = urlencode({k: v for k, v in params.items() if v})
        return _object(self._request("GET", f"{_box(mailbox)}/messages?{query}"))

    def get(self, mailbox: str, message_id: str) -> dict[str, Any]:
        return _object(self._request("GET", f"{_box(mailbox)}/messages/{quote(message_id)}"))

    def mark_read(self, mailbox: str, message_id: str) -> dict[str, Any]:
        return _object(self._request("POST", f"{_box(mailbox)}/messages/{quote(message_id)}/read", b""))

    def certificate(self, mailbox: str) -> bytes:
        return self._request("GET", f"{_box(mailbox)}/certificate")

    def operator_certificates(self) -> bytes:
        return self._request("GET", "/api/v1/messaging/operator-certificates")

    def _request(self, method: str, path: str, data: bytes | None = None,
                 headers: dict[str, str] | None = None) -> bytes:
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - our own URL
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            raise UserError(_problem(error)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise UserError(f"Maillage cannot be reached at {self.base_url} ({reason}).") from None


def _object(raw: bytes) -> dict[str, Any]:
    answer = json.loads(raw)
    if not isinstance(answer, dict):
        raise UserError("Maillage answered with something other than a JSON object.")
    return answer


def _box(mailbox: str) -> str:
    return f"/api/v1/mailboxes/{quote(mailbox, safe='@')}"


def _problem(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read())
        detail = body.get("detail") or body["issue"][0]["diagnostics"]
    except (ValueError, KeyError, IndexError, TypeError):
        detail = error.reason
    return f"{detail} (HTTP {error.code})"
