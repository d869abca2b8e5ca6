"""FHIR search query strings as values, bounded: the result parameters every search takes (``_count``,
``_offset``, ``_sort``, ``_summary``, ``_elements``, ``_total``, ``_include``, ``_format``, ``_pretty``),
the standard ``_id`` and ``_lastUpdated``, and the bounds that keep one query's cost small.

A service declares its own search parameters (``Param``: name, FHIR type, a parser of one value) and what
it sorts on and includes (``SearchSpec``); ``parse_query`` does the rest, strict by default, lenient on
``Prefer: handling=lenient``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import MAXYEAR, UTC, datetime, timedelta, timezone

from services.shared.errors import Invalid
from services.shared.fhir.negotiation import NotAcceptable, check_format, is_pretty

Parse = Callable[[str, str, str | None], object]  # (parameter key, one value, modifier) -> criterion value
TOO_COSTLY = "too-costly"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one search may ask: every parameter is bounded, so that no query string costs more than a few
    milliseconds to parse and plan, or reaches a database limit (SQLite's expression depth, its 64-bit
    integers, PostgreSQL's refusal of NUL)."""

    default_count: int = 20
    max_count: int = 100  # a larger _count is served as this (FHIR lets the server return fewer)
    max_offset: int = 10_000  # deeper pages: narrow the search; the bundle's links stop there
    max_parameters: int = 30  # key=value pairs in one query string, result parameters included
    max_repeats: int = 5  # the same search parameter repeated (its criteria AND-ed)
    max_alternatives: int = 50  # comma-separated alternatives in one parameter (OR-ed)
    max_terms: int = 100  # alternatives over all the criteria of one search: its cost
    max_key_length: int = 64  # a parameter name with its modifier
    max_raw_length: int = 4096  # one parameter's whole value, before it is split
    max_string_length: int = 256  # one string alternative
    max_reference_length: int = 256  # one reference alternative
    max_system_length: int = 256  # the system of a token, before the |
    max_code_length: int = 64  # the code or identifier of a token, after the |; one date
    max_sort_keys: int = 3  # names in _sort
    max_elements: int = 30  # names in _elements


@dataclass(frozen=True, slots=True)
class Criterion:
    """One search parameter as asked: ``key`` (with its modifier) and ``raw`` value, for the links."""

    name: str
    key: str
    raw: str
    alternatives: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Paging:
    offset: int = 0
    count: int = 20
    total: bool = True


@dataclass(frozen=True, slots=True)
class SortKey:
    name: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.name}" if self.descending else self.name


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: criteria (AND) of alternatives (OR), and how the result is shaped."""

    criteria: tuple[Criterion, ...] = ()
    paging: Paging = Paging()
    sort: tuple[SortKey, ...] = ()
    include: tuple[str, ...] = ()  # the _include values asked, as the spec spells them
    elements: tuple[str, ...] = ()  # _elements: the top-level elements wanted, none meaning all
    summary_count: bool = False  # _summary=count: the total only
    pretty: bool = False
    ignored: tuple[str, ...] = field(default=())  # what lenient handling left out, said back in the bundle


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # FHIR search parameter type: string, token, reference, date
    parse: Parse
    documentation: str


@dataclass(frozen=True)
class SearchSpec:
    """What a resource's search takes beyond the result parameters."""

    resource: str
    params: Mapping[str, Param]
    sorts: tuple[str, ...] = ()  # names _sort accepts (each also as -name)
    includes: tuple[str, ...] = ()  # _include values accepted
    limits: Limits = Limits()

    @classmethod
    def of(cls, resource: str, params: Iterable[Param], **options: object) -> SearchSpec:
        return cls(resource, {param.name: param for param in params}, **options)  # type: ignore[arg-type]


def is_lenient(prefer: str | None) -> bool:
    return any(part.strip().replace(" ", "") == "handling=lenient" for part in (prefer or "").split(";"))


# C0 and C1 controls (NUL among them: PostgreSQL refuses it in text) and lone surrogates (not encodable).
_REFUSED_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SPLIT = re.compile(r"(?<!\\),")
_ELEMENT = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR's id datatype
_WHOLE = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() takes '²' and '٣', which int() refuses
_HUGE = 10**18  # what any longer number stands for (int() refuses past 4,300 digits; SQLite past 2**63)
_SUMMARIES = ("true", "text", "data", "count", "false")


def parse_query(spec: SearchSpec, args: Iterable[tuple[str, str]], *, lenient: bool = False) -> Query:
    """Raises ``Invalid`` naming the first unknown or malformed parameter, unless ``lenient``.

    A query past the bounds of one search (parameters, repeats, alternatives) is refused with the code
    ``too-costly`` even when lenient: leaving parts of it out would answer another search than the one
    asked; and XML asked for is a 406 (``NotAcceptable``) either way.
    """
    limits = spec.limits
    query, ignored = Query(paging=Paging(0, limits.default_count, True)), []
    for position, (key, raw) in enumerate(args):
        if position == limits.max_parameters:
            raise _too_costly(f"A search takes at most {limits.max_parameters} parameters.", key, limits)
        try:
            _check_characters(key, raw, limits)
            query = _apply(query, spec, key, raw)
        except Invalid as error:
            if not lenient or error.code == TOO_COSTLY or isinstance(error, NotAcceptable):
                raise
            ignored.append(_shown(key, limits))
    _check_cost(query, limits)
    if query.summary_count:
        query = replace(query, paging=replace(query.paging, count=0, total=True))
    return replace(query, ignored=tuple(dict.fromkeys(ignored)))


def alternatives(raw: str) -> list[str]:
    """Comma-separated alternatives; ``\\,`` is a comma inside a value."""
    return [part.replace("\\,", ",") for part in _SPLIT.split(raw)]


def whole(key: str, raw: str) -> int:
    """A whole number in ASCII digits (what any number past 18 digits stands for: 10**18)."""
    if not _WHOLE.fullmatch(raw):
        raise Invalid(f"'{key}' must be a whole number, 0 or more, in digits 0-9.", expression=key)
    return int(raw) if len(raw) <= 18 else _HUGE


def _shown(key: str, limits: Limits) -> str:
    return key[:limits.max_key_length]


def _too_costly(message: str, key: str, limits: Limits) -> Invalid:
    return Invalid(message, expression=_shown(key, limits), code=TOO_COSTLY)


def _check_characters(key: str, raw: str, limits: Limits) -> None:
    if len(key) > limits.max_key_length:
        raise Invalid(f"A parameter name is at most {limits.max_key_length} characters.",
                      expression=_shown(key, limits))
    if _REFUSED_CHARACTERS.search(key) or _REFUSED_CHARACTERS.search(raw):
        raise Invalid("A search parameter holds a control character.", expression=_REFUSED_CHARACTERS.sub("?", key))
    if len(raw) > limits.max_raw_length:
        raise _too_costly(f"'{key}' is longer than {limits.max_raw_length} characters.", key, limits)


def _check_cost(query: Query, limits: Limits) -> None:
    terms, repeats = 0, dict[str, int]()
    for criterion in query.criteria:
        repeats[criterion.name] = repeats.get(criterion.name, 0) + 1
        if repeats[criterion.name] > limits.max_repeats:
            raise _too_costly(f"'{criterion.name}' is repeated more than {limits.max_repeats} times.",
                              criterion.key, limits)
        terms += len(criterion.alternatives)
        if terms > limits.max_terms:
            raise _too_costly(f"A search takes at most {limits.max_terms} values over all its parameters.",
                              criterion.key, limits)


def _apply(query: Query, spec: SearchSpec, key: str, raw: str) -> Query:
    name, _, modifier = key.partition(":")
    param = spec.params.get(name)
    if param is None:
        if name.startswith("_"):
            return _result_param(query, spec, key, raw)
        known = ", ".join(sorted(spec.params))
        raise Invalid(f"Unknown search parameter '{key}' for {spec.resource}; known: {known}.", expression=key)
    if raw == "":
        return query  # FHIR: a parameter without a value is ignored
    limits = spec.limits
    split = alternatives(raw)
    if len(split) > limits.max_alternatives:
        raise _too_costly(f"'{key}' takes at most {limits.max_alternatives} comma-separated values.", key, limits)
    for value in split:
        _check_length(param, key, value, limits)
    parsed = tuple(param.parse(key, value, modifier or None) for value in split)
    return replace(query, criteria=(*query.criteria, Criterion(name, key, raw, parsed)))


def _check_length(param: Param, key: str, value: str, limits: Limits) -> None:
    longest = {"string": limits.max_string_length, "reference": limits.max_reference_length,
               "date": limits.max_code_length}.get(param.type)
    if longest is not None:
        if len(value) > longest:
            raise Invalid(f"Each value of '{key}' is at most {longest} characters.", expression=key)
        return
    system, bar, code = value.partition("|")
    system, code = (system, code) if bar else ("", value)
    if len(system) > limits.max_system_length:
        raise Invalid(f"The system of '{key}' is at most {limits.max_system_length} characters.", expression=key)
    if len(code) > limits.max_code_length:
        raise Invalid(f"The code of '{key}' is at most {limits.max_code_length} characters.", expression=key)


def _result_param(query: Query, spec: SearchSpec, key: str, raw: str) -> Query:
    limits, paging = spec.limits, query.paging
    if key == "_count":
        return replace(query, paging=replace(paging, count=min(whole(key, raw), limits.max_count)))
    if key == "_offset":
        offset = whole(key, raw)
        if offset > limits.max_offset:
            raise _too_costly(f"'_offset' goes up to {limits.max_offset}; narrow the search to see further.",
                              key, limits)
        return replace(query, paging=replace(paging, offset=offset))
    if key == "_total":
        if raw not in ("none", "estimate", "accurate"):
            raise Invalid("'_total' must be none, estimate or accurate.", expression=key)
        return replace(query, paging=replace(paging, total=raw != "none"))
    if key == "_totalMethod":  # Aidbox's spelling, which fhirpy's count() sends: count, estimate or none
        if raw not in ("none", "estimate", "count"):
            raise Invalid("'_totalMethod' must be none, estimate or count.", expression=key)
        return replace(query, paging=replace(paging, total=raw != "none"))
    if key == "_include":
        return _include(query, spec, key, raw)
    if key == "_sort":
        return replace(query, sort=_sort(spec, key, raw))
    if key == "_summary":
        if raw not in _SUMMARIES:
            raise Invalid("'_summary' must be true, text, data, count or false.", expression=key)
        if raw not in ("count", "false"):
            raise Invalid(f"'_summary={raw}' is not supported; use count or false.", expression=key)
        return replace(query, summary_count=raw == "count")
    if key == "_elements":
        return replace(query, elements=_elements(query.elements, key, raw, limits))
    if key == "_format":
        check_format(key, raw)
        return query
    if key == "_pretty":
        return replace(query, pretty=is_pretty(key, raw))
    raise Invalid(f"Unsupported parameter '{key}'.", expression=key)


def _include(query: Query, spec: SearchSpec, key: str, raw: str) -> Query:
    source, _, rest = raw.partition(":")
    asked = f"{source}:{rest.partition(':')[0]}"
    if asked not in spec.includes:
        allowed = ", ".join(spec.includes) or "none on this resource"
        raise Invalid(f"'_include={raw[:80]}' is not supported; supported: {allowed}.", expression=key)
    return replace(query, include=tuple(dict.fromkeys((*query.include, asked))))


def _sort(spec: SearchSpec, key: str, raw: str) -> tuple[SortKey, ...]:
    names = [name.strip() for name in raw.split(",")]
    if len(names) > spec.limits.max_sort_keys:
        raise Invalid(f"'_sort' takes at most {spec.limits.max_sort_keys} names.", expression=key)
    keys: list[SortKey] = []
    for name in names:
        descending = name.startswith("-")
        bare = name[1:] if descending else name
        if bare not in spec.sorts:
            allowed = ", ".join(spec.sorts) or "nothing on this resource"
            raise Invalid(f"'_sort' cannot sort on '{bare[:64]}'; it sorts on {allowed} (- for descending).",
                          expression=key)
        if any(k.name == bare for k in keys):
            raise Invalid(f"'_sort' names '{bare}' twice.", expression=key)
        keys.append(SortKey(bare, descending))
    return tuple(keys)


def _elements(current: tuple[str, ...], key: str, raw: str, limits: Limits) -> tuple[str, ...]:
    names = list(current)
    for name in raw.split(","):
        name = name.strip()
        if not _ELEMENT.fullmatch(name):
            raise Invalid("'_elements' takes names of top-level elements (letters and digits), "
                          "separated by commas.", expression=key)
        if name not in names:
            names.append(name)
    if len(names) > limits.max_elements:
        raise Invalid(f"'_elements' takes at most {limits.max_elements} names.", expression=key)
    return tuple(names)


def resource_id(key: str, value: str, modifier: str | None) -> str:
    """``_id``: a FHIR id (1 to 64 letters, digits, '-' or '.')."""
    if modifier is not None:
        raise Invalid(f"'{key}': the :{modifier} modifier is not supported here.", expression=key)
    if not _ID.fullmatch(value):
        raise Invalid(f"'{key}' must be a resource id: 1 to 64 letters, digits, '-' or '.'.", expression=key)
    return value


@dataclass(frozen=True, slots=True)
class DateRange:
    """A date search value: its prefix and the instants its precision covers, ``low`` <= t < ``high``
    (seconds since the epoch)."""

    prefix: str
    low: float
    high: float


DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
_DATE = re.compile(
    r"(?P<prefix>[a-z]{2})?(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?P<fraction>\.[0-9]{1,9})?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?")


def date_range(key: str, value: str, modifier: str | None) -> DateRange:
    """A FHIR date search value (``ge2024-05-01``, ``lt2024-05-01T10:00:00Z``...): the prefixes eq, ne,
    gt, lt, ge, le, sa, eb; a time without a zone is taken as UTC."""
    if modifier is not None:
        raise Invalid(f"'{key}': the :{modifier} modifier is not supported here.", expression=key)
    found = _DATE.fullmatch(value)
    prefix = (found["prefix"] if found else None) or "eq"
    if not found or prefix not in DATE_PREFIXES:
        raise Invalid(f"'{key}' must be a date or date-time (2024, 2024-05, 2024-05-01, 2024-05-01T10:00:00Z), "
                      f"optionally after a prefix ({', '.join(DATE_PREFIXES)}).", expression=key)
    try:
        low, step = _instant(found)
        start = low.timestamp()
        end = start + step.total_seconds() if step else _next(low, found)
    except (ValueError, OverflowError):  # 31 February; an instant outside the years 1-9999 once in UTC
        raise Invalid(f"'{key}' is not a real date or time.", expression=key) from None
    return DateRange(prefix, start, end)


def _instant(found: re.Match[str]) -> tuple[datetime, timedelta | None]:
    """The first instant of the value and its width (None for a year or a month: calendar arithmetic)."""
    zone: timezone = UTC
    if found["zone"] and found["zone"] != "Z":
        sign = 1 if found["zone"][0] == "+" else -1
        hours, minutes = int(found["zone"][1:3]), int(found["zone"][4:6])
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    year, month, day = int(found["year"]), int(found["month"] or 1), int(found["day"] or 1)
    if found["hour"] is None:
        start = datetime(year, month, day, tzinfo=zone)
        return start, (timedelta(days=1) if found["day"] else None)
    fraction = found["fraction"] or ""
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    start = datetime(year, month, day, int(found["hour"]), int(found["minute"]), int(found["second"] or 0),
                     micro, tzinfo=zone)
    if fraction:
        return start, timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction) - 1, 6))))
    return start, timedelta(seconds=1) if found["second"] else timedelta(minutes=1)


def _next(low: datetime, found: re.Match[str]) -> float:
    """The timestamp just past the month or the year ``low`` starts (9999's end computed, not built)."""
    if low.year == MAXYEAR and (not found["month"] or low.month == 12):
        return low.replace(month=12, day=31, hour=23, minute=59, second=59, microsecond=999_999).timestamp() + 1e-6
    if found["month"]:
        return low.replace(year=low.year + low.month // 12, month=low.month % 12 + 1).timestamp()
    return low.replace(year=low.year + 1).timestamp()


ID = Param("_id", "token", resource_id, "The resource's id (several comma-separated: any of them).")
LAST_UPDATED = Param("_lastUpdated", "date", date_range,
                     "When the resource last changed (meta.lastUpdated): a date or date-time with a prefix "
                     "eq, ne, gt, lt, ge, le, sa or eb.")
