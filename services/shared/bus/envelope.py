"""CloudEvents 1.0 envelope with W3C trace context: the body of every event on the bus."""
from __future__ import annotations

import builtins
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.shared.contracts.events import SCHEMA_BASE, Envelope, EventData, parse_data

CONTENT_TYPE = "application/cloudevents+json"
D = TypeVar("D", bound=EventData)
_REQUIRED = ("id", "source", "type", "specversion")
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # json.dumps would build one per call


def encode_body(body: dict[str, Any]) -> bytes:
    """An envelope (``CloudEvent.to_dict()``) as the compact UTF-8 JSON that travels on the bus."""
    return _COMPACT.encode(body).encode()


class MalformedEnvelope(ValueError):
    """A message on the bus is not a CloudEvents 1.0 JSON envelope."""


def new_traceparent(parent: str | None = None) -> str:
    """A W3C traceparent: a child span of ``parent`` when given and valid, else a new trace."""
    trace_id = trace_id_of(parent) if parent else None
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
        return parts[1]
    return None


@dataclass(frozen=True)
class CloudEvent:
    type: str
    source: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    subject: str | None = None
    traceparent: str = field(default_factory=new_traceparent)
    specversion: str = "1.0"
    datacontenttype: str = "application/json"

    @property
    def dataschema(self) -> str:
        return f"{SCHEMA_BASE}{self.type}.json"

    @property
    def trace_id(self) -> str | None:
        return trace_id_of(self.traceparent)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
            "datacontenttype": self.datacontenttype,
            "dataschema": self.dataschema,
            "traceparent": self.traceparent,
            "data": self.data,
        }
        if self.subject is not None:
            body["subject"] = self.subject
        return body

    def typed(self, contract: builtins.type[D]) -> Envelope[D]:
        """This event with its data validated against ``contract`` (``Invalid``, naming where, if it breaks it)."""
        return Envelope(id=self.id, type=self.type, source=self.source, time=self.time,
                        traceparent=self.traceparent, subject=self.subject, data=parse_data(contract, self.data))

    def to_json(self) -> bytes:
        return encode_body(self.to_dict())

    @classmethod
    def from_dict(cls, body: Any) -> CloudEvent:
        if not isinstance(body, dict):
            raise MalformedEnvelope("the message body is not a JSON object")
        missing = [name for name in _REQUIRED if not body.get(name)]
        if missing:
            raise MalformedEnvelope(f"the envelope lacks {', '.join(missing)}")
        if body["specversion"] != "1.0":
            raise MalformedEnvelope(f"unsupported specversion {body['specversion']!r}")
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise MalformedEnvelope("the envelope's data is not a JSON object")
        return cls(
            type=body["type"],
            source=body["source"],
            data=data,
            id=body["id"],
            time=body.get("time") or datetime.now(UTC).isoformat(),
            subject=body.get("subject"),
            traceparent=body.get("traceparent") or new_traceparent(),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        try:
            return cls.from_dict(json.loads(raw))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedEnvelope(f"the message body is not JSON ({exc.__class__.__name__})") from None
