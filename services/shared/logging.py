"""One structlog set-up for every service, with health data redacted from every line."""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Mapping
from functools import lru_cache
from types import TracebackType
from typing import Any, Self

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from services.shared.settings import Settings, SettingsError

REDACTED = "[redacted]"
CONTEXT_KEYS = ("trace_id", "event_id")

# Key words that name health data; a key matches when it ends with one (``patient_name``).
_SENSITIVE_SUFFIXES = frozenset({
    "name", "names", "family", "given", "nom", "prenom", "prenoms", "surname", "firstname",
    "lastname", "birth_name", "birthdate", "birth_date", "date_of_birth", "dob",
    "ins", "nir", "ins_nir", "matricule", "address", "adresse", "phone", "telephone", "mobile",
    "email", "mail", "telecom", "subject", "body", "content", "text", "note", "notes",
    "payload", "document", "documents", "attachment", "attachments", "resource", "resources",
    "message_body", "hl7", "fhir",
})
# Words that mark health data wherever they sit in a key (``hl7_message``, ``birth_place``).
_SENSITIVE_ANYWHERE = frozenset({
    "hl7", "fhir", "ins", "nir", "matricule", "birth", "naissance", "nom", "prenom", "prenoms",
})
# Technical keys that merely end in a sensitive word.
_SAFE_KEYS = frozenset({
    "event", "timestamp", "level", "logger", "logger_name", "service", "service_name",
    "queue_name", "exchange_name", "method_name", "entrypoint_name", "func_name", "host_name",
    "event_name", "content_type", "content_length", "resource_type", *CONTEXT_KEYS,
})
_META_KEYS = frozenset({"_record", "_from_structlog"})

_HL7 = re.compile(r"MSH\||(?:^|[\r\n])(?:PID|PV1|NK1|EVN|OBX)\|")
_DAY, _MONTH, _YEAR = r"(?:0[1-9]|[12]\d|3[01])", r"(?:0[1-9]|1[0-2])", r"(?:1[89]\d\d|20\d\d)"
_TOKENS = re.compile(
    # Identifiers that must survive come first: at a given position the first alternative wins,
    # so a UUID, a hex trace id or a timestamp is consumed whole before a date or INS can match.
    r"(?P<keep>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?"
    r"|[0-9a-fA-F]{16,})"
    # NIR/INS: sex, year, month, department (2A/2B for Corsica), commune, order, optional key.
    r"|(?P<ins>(?<![0-9A-Za-z])[1-478]\d{4}(?:\d\d|2[AaBb])\d{6}(?:\d\d)?(?![0-9A-Za-z]))"
    rf"|(?P<date>(?<![0-9A-Za-z])(?:{_YEAR}-{_MONTH}-{_DAY}|{_YEAR}{_MONTH}{_DAY}"
    rf"|{_DAY}/{_MONTH}/{_YEAR})(?![0-9A-Za-z]))"
    # Query strings carry search parameters (names, INS); the path itself is kept.
    r"|(?P<path>/[\w\-./~%:@]*)\?[^\s\"'<>#]+"
)


# Characters that would let client-supplied text start a line of its own, hide what follows or
# drive a terminal: C0 and C1 controls (\n, \r, NUL, ESC...), Unicode line and paragraph
# separators, and bidirectional overrides.
_UNSAFE_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
MAX_FIELD_CHARS = 2000  # any one text value of a log line
MAX_EXCEPTION_CHARS = 20000  # a formatted traceback
_MULTILINE_KEYS = frozenset({"exception", "stack"})  # formatted here, with their messages escaped


def escape_text(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` on one line: control characters escaped (``\\n``, ``\\x00``), at most ``limit`` characters kept."""
    if len(text) > limit:
        text = f"{text[:limit]}…[{len(text) - limit} more characters]"
    elif text.isprintable():  # every character escaped below is unprintable: the common case, in C
        return text
    return _UNSAFE_CHARACTERS.sub(_escape_character, text)


def _escape_character(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED_ESCAPES.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def format_exception(exc_info: Any) -> str:
    """A traceback whose exception messages are escaped: a message quoting client text cannot
    start a line of its own (the frames and type names come from our code)."""
    formatted = traceback.TracebackException(*exc_info, compact=True)
    pending, seen = [formatted], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        message = getattr(current, "_str", None)  # what format_exception_only prints after the type
        if isinstance(message, str):
            current._str = escape_text(message)  # type: ignore[attr-defined]
        notes = getattr(current, "__notes__", None)
        if notes:
            current.__notes__ = [escape_text(str(note)) for note in notes]
        pending.extend(item for item in (current.__cause__, current.__context__) if item is not None)
        pending.extend(getattr(current, "exceptions", None) or ())
    text = "".join(formatted.format())
    return text if len(text) <= MAX_EXCEPTION_CHARS else f"{text[:MAX_EXCEPTION_CHARS]}…[truncated]"


def _escape_value(value: Any) -> Any:
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, Mapping):
        return {escape_text(str(k)): _escape_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_escape_value(item) for item in value]
    return value


def escape_control_characters(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: every value on one line and bounded, whatever client text it quotes.

    It runs after redaction, on every field of every line (ours, nameko's, the libraries'), so no
    call site has to remember it. Tracebacks keep their lines; their messages were escaped when
    they were formatted (``format_exception``).
    """
    for key, value in list(event_dict.items()):
        if key in _META_KEYS:
            continue
        if key in _MULTILINE_KEYS:
            if isinstance(value, str) and len(value) > MAX_EXCEPTION_CHARS:
                event_dict[key] = f"{value[:MAX_EXCEPTION_CHARS]}…[truncated]"
            continue
        safe_key = escape_text(key, 200) if isinstance(key, str) else key
        if safe_key != key:
            del event_dict[key]
        event_dict[safe_key] = _escape_value(value)
    return event_dict


def scrub_text(text: str) -> str:
    """Return ``text`` with INS/NIR, birth-date-like dates, HL7 and FHIR bodies removed."""
    if _HL7.search(text):
        return "[hl7 redacted]"
    if "resourceType" in text:
        return "[fhir redacted]"
    return _TOKENS.sub(_replace_token, text)


def _replace_token(match: re.Match[str]) -> str:
    if match["keep"] is not None:
        return match["keep"]
    if match["ins"] is not None:
        return "[INS]"
    if match["date"] is not None:
        return "[date]"
    return f"{scrub_text(match['path'])}?[query]"


@lru_cache(maxsize=4096)
def is_sensitive_key(key: str) -> bool:
    """True when a key (any case, camelCase or snake_case) names health data."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()
    words = [word for word in re.split(r"[^a-z0-9]+", snake) if word]
    if "_".join(words) in _SAFE_KEYS:
        return False
    if any(word in _SENSITIVE_ANYWHERE for word in words):
        return True
    return any("_".join(words[i:]) in _SENSITIVE_SUFFIXES for i in range(len(words)))


def _redact_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, int):
        # An INS can arrive as an integer; any other number is kept as a number.
        text = str(value)
        return value if scrub_text(text) == text else "[INS]"
    if isinstance(value, Mapping):
        if "resourceType" in value:
            return "[fhir redacted]"
        return {k: REDACTED if is_sensitive_key(str(k)) else _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return f"[{len(value)} bytes]"
    # Anything else is rendered with str() later; scrub that rendering now.
    return scrub_text(str(value))


def redact_health_data(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact health data by key and by value, recursively."""
    for key, value in list(event_dict.items()):
        if key in _META_KEYS:
            continue
        event_dict[key] = REDACTED if is_sensitive_key(key) else _redact_value(value)
    return event_dict


class BoundContext:
    """Correlation ids bound to the current (green)thread; reset with ``reset()`` or ``with``."""

    def __init__(self, ids: Mapping[str, object]) -> None:
        self._tokens = structlog.contextvars.bind_contextvars(**ids)

    def reset(self) -> None:
        structlog.contextvars.reset_contextvars(**self._tokens)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.reset()


def bind_context(**ids: object) -> BoundContext:
    """Bind ids such as ``trace_id`` and ``event_id`` to every line logged from here on."""
    return BoundContext(ids)


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


def configure_logging(service: str, settings: Settings) -> None:
    """Route structlog and the standard library through one redacting chain to stdout."""
    level = logging.getLevelNamesMapping().get(settings.log_level.upper())
    if level is None:
        raise SettingsError(f"MAILLAGE_LOG_LEVEL must be a logging level name, not {settings.log_level!r}.")

    def add_identity(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)  # a worker binds its own service name
        for key in CONTEXT_KEYS:
            event_dict.setdefault(key, None)
        return event_dict

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        # fields a standard-library call passes as ``extra`` (the access line's), redacted like the rest
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_identity,
        structlog.processors.StackInfoRenderer(),
        # Tracebacks become text before redaction: a renderer formatting exc_info itself
        # would print exception messages (which may quote an INS) unredacted.
        # Our formatter escapes the exception messages, which may quote client text.
        structlog.processors.ExceptionRenderer(format_exception),
        redact_health_data,
        escape_control_characters,  # last: the redacted text, escaped whatever its origin
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: module-level loggers created before configure_logging must pick it up.
        cache_logger_on_first_use=False,
    )
    _install_handler(formatter, level)
    _install_access_handler(AccessLineFormatter(service, json_lines=settings.log_format == "json"))


def _install_handler(formatter: logging.Formatter, level: int) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_maillage", False)]:
        root.removeHandler(handler)  # idempotent: replace our own handler, never stack it
    handler = logging.StreamHandler(sys.stdout)
    handler._maillage = True  # type: ignore[attr-defined]
    handler.addFilter(_not_access_lines)  # written by the access logger's own handler
    root.addHandler(handler)
    root.setLevel(level)
    # Handlers installed by others (nameko's LOGGING config) must not print unredacted lines.
    loggers = [root, *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for existing in logger.handlers:
            existing.setFormatter(formatter)
    logging.captureWarnings(True)  # library warnings (SQLAlchemy) go through the same chain


ACCESS_LOGGER = "maillage.access"
ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "request_id", "error")


def _not_access_lines(record: logging.LogRecord) -> bool:
    return record.name != ACCESS_LOGGER


def _install_access_handler(formatter: logging.Formatter) -> None:
    access = logging.getLogger(ACCESS_LOGGER)
    for handler in [h for h in access.handlers if getattr(h, "_maillage", False)]:
        access.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler._maillage = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter)
    access.addHandler(handler)


class AccessLineFormatter(logging.Formatter):
    """The HTTP access line (one per request), in the same shape as every other line, rendered directly.

    Its fields are safe by construction — a method from a fixed set, a route template, numbers, a
    request id checked to be a plain token, an exception type — so the redacting chain (≈ 0.4 ms a
    line on the loaded 2-core VM, against ≈ 0.05 ms here; a third of the bare edge's throughput when
    run per request) is skipped; text is still escaped and bounded.
    """

    def __init__(self, service: str, *, json_lines: bool) -> None:
        super().__init__()
        self.service = service
        self.json_lines = json_lines

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {}
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            fields[name] = escape_text(value, 200) if isinstance(value, str) else value
        seconds = int(record.created)
        timestamp = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
                     + f".{int((record.created - seconds) * 1_000_000):06d}Z")
        event, level = escape_text(record.getMessage()), record.levelname.lower()
        if self.json_lines:
            return json.dumps({"event": event, "level": level, "logger": record.name, "timestamp": timestamp,
                               "service": self.service, "trace_id": None, "event_id": None, **fields})
        pairs = " ".join(f"{key}={fields[key]}" for key in sorted(fields))
        return f"{timestamp} [{level:<9}] {event:<30} [{record.name}] {pairs} service={self.service}"
