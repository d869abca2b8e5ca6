"""What a FHIR answer is written in: JSON only. XML asked for (``_format``, ``Accept``) is a 406, never JSON."""
from __future__ import annotations

from collections.abc import Iterable

from services.shared.errors import Invalid

# _format values and Accept media types taken as JSON (FHIR R4 3.1.0.1.10: json, application/json,
# application/fhir+json, and the DSTU2 application/json+fhir some clients still send).
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json", "application/json+fhir"})
XML_FORMATS = frozenset({"xml", "text/xml", "application/xml", "application/fhir+xml", "application/xml+fhir"})
_ANY = frozenset({"*/*", "application/*"})


class NotAcceptable(Invalid):
    """The caller accepts only what the server does not write (HTTP 406)."""

    status = 406
    code = "not-supported"


def check_format(key: str, raw: str) -> None:
    """``_format``: JSON in any of its names; XML is a 406; anything else a 400."""
    media = raw.partition(";")[0].strip().lower()
    if media in JSON_FORMATS:
        return
    if media in XML_FORMATS or media.endswith("+xml"):
        raise NotAcceptable("This server writes FHIR JSON only; ask for _format=json.", expression=key)
    raise Invalid(f"'{key}' must be json (or application/fhir+json).", expression=key)


def check_accept(accept: str | None) -> None:
    """An ``Accept`` header that lists no JSON media type (nor a wildcard) is a 406 naming ``Accept``."""
    if not accept:
        return
    for part in accept.split(","):
        media, _, parameters = part.partition(";")
        media = media.strip().lower()
        if (media in JSON_FORMATS or media in _ANY or media.endswith("+json")) and not _refused(parameters):
            return
    raise NotAcceptable("This server writes FHIR JSON only (application/fhir+json); the Accept header "
                        "asks for none of it.", expression="Accept")


def _refused(parameters: str) -> bool:
    """``q=0``: the caller says it does not want that type."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip()) == 0
            except ValueError:
                return False
    return False


def is_pretty(key: str, raw: str) -> bool:
    if raw not in ("true", "false"):
        raise Invalid(f"'{key}' must be true or false.", expression=key)
    return raw == "true"


def read_options(accept: str | None, args: Iterable[tuple[str, str]]) -> bool:
    """What a read takes from its query string: ``_format`` (JSON; XML a 406) and ``_pretty``; the
    ``Accept`` header checked too; other parameters are left alone, as before. Returns whether the answer
    is to be indented."""
    check_accept(accept)
    pretty = False
    for key, raw in args:
        if key == "_format":
            check_format(key, raw)
        elif key == "_pretty":
            pretty = is_pretty(key, raw)
    return pretty
