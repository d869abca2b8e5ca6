"""Event contracts declared once, in code: a pydantic model per event type, and the typed envelope consumers get.

A contract is a subclass of ``EventData`` with its type string (``TYPE``), its only publisher
(``PUBLISHER``) and the subject it is about (``subject()``). Producers build the model and hand it to
``UnitOfWork.publish``; consumers declare the models they take (``@event_handler(ProfessionalEnrolled)``)
and receive an ``Envelope`` whose ``data`` is that model, validated. ``schemas/events/*.json`` and
``schemas/asyncapi.yaml`` are generated from these classes (``scripts/generate-contracts.py``);
a contract test fails when the committed files differ.

Conventions the JSON Schemas follow: a field typed ``X | None`` without a default is required and
may be null; one with the default ``None`` is optional and left out of the event when None (never
sent as null); ``schema_version`` is always sent and required.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

from services.shared.errors import Invalid
from services.shared.registry import service_names

SCHEMA_BASE = "https://schemas.maillage.fr/events/"
# the PUBLISHER of a command event (``message.requested``: ask a service to do something): any service of the
# platform's registry may publish it; its one consumer is the service that carries it out
ANY_PLATFORM_SERVICE = "*"


def _instant(timespec: str) -> Any:
    return PlainSerializer(lambda moment: moment.isoformat(timespec=timespec), return_type=str)


Instant = Annotated[datetime, _instant("milliseconds")]  # ISO 8601 with milliseconds
InstantSeconds = Annotated[datetime, _instant("seconds")]
Email = Annotated[str, Field(json_schema_extra={"format": "email"})]
MailboxAddress = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"})]
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class EventData(BaseModel):
    """The data of one event type. Unknown fields are ignored (consumers of an older version keep working)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    PUBLISHER: ClassVar[str]
    SUMMARY: ClassVar[str] = ""  # the AsyncAPI channel's description
    SUBJECT_PATTERN: ClassVar[str | None] = None  # a constraint on the envelope's subject, if any
    EXAMPLE: ClassVar[Example | None] = None
    _OMIT_IF_NONE: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._OMIT_IF_NONE = tuple(
            name for name, info in cls.model_fields.items() if not info.is_required() and info.default is None
        )
        if "TYPE" in cls.__dict__:
            register(cls)

    def subject(self) -> str | None:
        """What the event is about (the envelope's ``subject``)."""
        return None

    def to_data(self) -> dict[str, Any]:
        """The event's ``data`` as JSON-ready values; optional fields that are None are left out."""
        data = self.model_dump(mode="json")
        for name in self._OMIT_IF_NONE:
            if data[name] is None:
                del data[name]
        return data

    @classmethod
    def description(cls) -> str:
        return " ".join(inspect.cleandoc(cls.__doc__ or "").split())


@dataclass(frozen=True)
class Example:
    """An example envelope for the generated schema: the model's arguments and the envelope's fixed fields."""

    id: str
    time: str
    traceparent: str
    data: dict[str, Any] = field(default_factory=dict)
    publisher: str | None = None  # the example's source, for a command event (any platform service publishes it)


D = TypeVar("D", bound=EventData)
_CONTRACTS: dict[str, type[EventData]] = {}


def register(contract: type[EventData]) -> None:
    known = _CONTRACTS.get(contract.TYPE)
    if known is not None and known.__qualname__ != contract.__qualname__:
        raise ValueError(f"event type {contract.TYPE!r} is declared twice ({known.__qualname__}, "
                         f"{contract.__qualname__})")
    _CONTRACTS[contract.TYPE] = contract


def contract_for(event_type: str) -> type[EventData]:
    try:
        return _CONTRACTS[event_type]
    except KeyError:
        raise Invalid(f"No contract for event type {event_type!r}: declare it in services/shared/contracts.") \
            from None


def contracts(*, published: bool = True) -> list[type[EventData]]:
    """The contracts of services.shared.contracts (once it is imported); with ``published=False``, tests'
    probe events too."""
    return [contract for contract in _CONTRACTS.values()
            if not published or contract.__module__.startswith("services.shared.contracts.")]


@dataclass(frozen=True, slots=True)
class Envelope(Generic[D]):
    """A received event: the CloudEvents attributes and its data, typed and validated."""

    id: str
    type: str
    source: str
    time: str
    traceparent: str
    subject: str | None
    data: D


def parse_data(contract: type[D], data: Any) -> D:
    """Validate an event's data against its contract; ``Invalid`` names where, never the value (health data)."""
    try:
        return contract.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = "/".join(str(part) for part in ("data", *first["loc"]))
        raise Invalid(f"Event {contract.TYPE} breaks its contract at {where} ({first['type']}).",
                      expression=where) from None


ENVELOPE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": f"{SCHEMA_BASE}_envelope.json",
    "title": "Maillage CloudEvents 1.0 envelope",
    "description": "Every event on the bus: CloudEvents 1.0 structured JSON with W3C trace context. "
                   "Consumers ignore unknown fields.",
    "type": "object",
    "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "traceparent",
                 "data"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "source": {"type": "string", "pattern": "^urn:maillage:service:[a-z_]+$"},
        "type": {"type": "string", "pattern": "^[a-z_]+\\.[a-z_]+$"},
        "time": {"type": "string", "format": "date-time"},
        "subject": {"type": "string", "maxLength": 255},
        "datacontenttype": {"const": "application/json"},
        "dataschema": {"type": "string", "format": "uri"},
        "traceparent": {"type": "string", "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"},
        "data": {"type": "object"},
    },
}


def source_of(service: str) -> str:
    return f"urn:maillage:service:{service}"


def publishers_of(contract: type[EventData]) -> tuple[str, ...]:
    """The services allowed to publish a contract: its PUBLISHER, or every platform service for a command."""
    if contract.PUBLISHER == ANY_PLATFORM_SERVICE:
        return service_names()
    return (contract.PUBLISHER,)


def service_of(source: str) -> str | None:
    """The platform service an envelope's ``source`` names, None when it names none of the registry's."""
    prefix = source_of("")
    name = source[len(prefix):] if source.startswith(prefix) else None
    return name if name in service_names() else None


def data_schema(contract: type[EventData]) -> dict[str, Any]:
    """The JSON Schema of a contract's ``data``, in the plain style of schemas/events (no titles, no $defs)."""
    raw = contract.model_json_schema()
    definitions = raw.get("$defs", {})
    return _object_schema(raw, definitions, always_required=("schema_version",))


def _object_schema(raw: dict[str, Any], definitions: dict[str, Any],
                   always_required: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = raw.get("properties", {})
    required = [name for name in properties if name in raw.get("required", ()) or name in always_required]
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": {}}
    for name, node in properties.items():
        schema["properties"][name] = _plain(node, definitions, optional=name not in required)
    return schema


def _plain(node: Any, definitions: dict[str, Any], *, optional: bool = False) -> Any:
    if isinstance(node, list):
        return [_plain(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        return _object_schema(target, definitions)
    if "anyOf" in node and {"type": "null"} in node["anyOf"] and len(node["anyOf"]) == 2:
        other = _plain(next(branch for branch in node["anyOf"] if branch != {"type": "null"}), definitions)
        extra = {key: _plain(value, definitions) for key, value in node.items()
                 if key not in ("anyOf", "title", "default")}
        if optional:  # left out when None: the null branch never travels
            return {**other, **extra}
        return {**{k: v for k, v in other.items() if k != "type"}, "type": [other["type"], "null"], **extra}
    plain = {key: _plain(value, definitions) for key, value in node.items() if key not in ("title", "default")}
    if "const" in plain or "enum" in plain:
        plain.pop("type", None)
    first = [key for key in ("type", "items") if key in plain]  # the order the hand-written schemas had
    return {**{key: plain[key] for key in first}, **{k: v for k, v in plain.items() if k not in first}}


def event_schema(contract: type[EventData]) -> dict[str, Any]:
    """The whole envelope's JSON Schema for a contract (schemas/events/<type>.json)."""
    sources = [source_of(service) for service in publishers_of(contract)]
    properties: dict[str, Any] = {"type": {"const": contract.TYPE},
                                  "source": {"const": sources[0]} if len(sources) == 1 else {"enum": sources}}
    if contract.SUBJECT_PATTERN is not None:
        properties["subject"] = {"type": "string", "pattern": contract.SUBJECT_PATTERN}
    properties["data"] = data_schema(contract)
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{contract.TYPE}.json",
        "title": contract.TYPE,
        "description": contract.description(),
        "allOf": [{"$ref": "_envelope.json"}],
        "properties": properties,
    }
    if contract.EXAMPLE is not None:
        schema["examples"] = [example_envelope(contract, contract.EXAMPLE)]
    return schema


def example_envelope(contract: type[EventData], example: Example) -> dict[str, Any]:
    model = contract(**example.data)
    envelope: dict[str, Any] = {
        "specversion": "1.0", "id": example.id, "source": source_of(example.publisher or contract.PUBLISHER),
        "type": contract.TYPE,
        "time": example.time,
    }
    subject = model.subject()
    if subject is not None:
        envelope["subject"] = subject
    envelope.update({"datacontenttype": "application/json", "dataschema": f"{SCHEMA_BASE}{contract.TYPE}.json",
                     "traceparent": example.traceparent, "data": model.to_data()})
    return envelope
