"""JSON, FHIR and problem+json responses, and strict readers of request bodies."""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, TypeVar

import pydantic
import pydantic_core
from werkzeug.wrappers import Request, Response

from services.shared.errors import Invalid, Unprocessable
from services.shared.fhir.outcome import operation_outcome

FHIR_JSON = "application/fhir+json; charset=utf-8"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
FHIR_PREFIX = "/fhir"
BODY = "body"  # the expression when the whole body, not one field, is at fault
_FHIR_MIMETYPES = ("application/fhir+json", "application/json", "application/json+fhir")

# RFC 9110 §15's reason phrases, one table for every status line and problem title the edge writes
# (werkzeug upper-cases its own, "413 REQUEST ENTITY TOO LARGE"; Python 3.11 still has RFC 7231's names)
_RFC9110_NAMES = {413: "Content Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable",
                  422: "Unprocessable Content"}
REASON_PHRASES: dict[int, str] = {status.value: _RFC9110_NAMES.get(status.value, status.phrase)
                                  for status in HTTPStatus}
STATUS_LINES: dict[int, str] = {code: f"{code} {phrase}" for code, phrase in REASON_PHRASES.items()}


def reason_phrase(status: int) -> str:
    return REASON_PHRASES.get(status, "Unknown")


Model = TypeVar("Model", bound=pydantic.BaseModel)
_log = logging.getLogger(__name__)


class UnsupportedMediaType(Invalid):
    """The body is not in a media type the route reads (HTTP 415)."""

    status = 415
    code = "not-supported"


def is_fhir_path(path: str) -> bool:
    return path == FHIR_PREFIX or path.startswith(FHIR_PREFIX + "/")


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def fhir_json(resource: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None,
              *, pretty: bool = False) -> Response:
    """``pretty``: indented (FHIR's ``_pretty=true``)."""
    body = json.dumps(resource, ensure_ascii=False, indent=2) if pretty else _dumps(resource)
    return Response(body, status=status, headers=dict(headers or {}), content_type=FHIR_JSON)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(_dumps(body), status=status, headers=dict(headers or {}), content_type=JSON)


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """An RFC 9457 problem; `type` defaults to about:blank, other members go in as extensions."""
    body = {"type": extra.pop("type", "about:blank"), "title": title, "status": status, "detail": detail}
    headers = extra.pop("headers", None)
    body.update({key: value for key, value in extra.items() if value is not None})
    return Response(_dumps(body), status=status, headers=dict(headers or {}), content_type=PROBLEM_JSON)


def error_response(
    status: int, code: str, message: str, *, fhir: bool, expression: str | None = None,
    headers: Mapping[str, str] | None = None, **extra: Any,
) -> Response:
    """The one error shape of the edge: OperationOutcome under /fhir, problem+json elsewhere."""
    if fhir:
        outcome = operation_outcome(code, message, expression=expression)
        return fhir_json(outcome, status=status, headers=headers)
    return problem(
        status, reason_phrase(status), message, type=f"urn:maillage:problem:{code}",
        expression=expression, headers=headers, **extra,
    )


def read_json(request: Request, *, model: type[Model] | None = None) -> Any:
    """The body as JSON (or as `model`); raises Invalid naming what is wrong and where."""
    if request.mimetype != JSON and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"Send the body as {JSON}, not {request.mimetype or 'without a Content-Type'}.",
            expression="Content-Type",
        )
    if model is not None:
        # one pass over the bytes (no dict in between); a body that fails takes the path below,
        # so what is refused, and the words of the refusal, stay the same
        try:
            return model.model_validate_json(request.get_data(cache=True))
        except (pydantic.ValidationError, ValueError):
            pass
    data = _parse(request)
    if model is None:
        return data
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _invalid_from(exc) from None


def read_fhir_resource(request: Request, resource_type: str) -> dict[str, Any]:
    """The body as a FHIR JSON resource of `resource_type`: 400 if unreadable, 422 if another type."""
    if request.mimetype not in _FHIR_MIMETYPES:
        raise UnsupportedMediaType(
            f"Send the resource as application/fhir+json, not {request.mimetype or 'without a Content-Type'}.",
            expression="Content-Type",
        )
    data = _parse(request)
    if not isinstance(data, dict):
        raise Invalid(f"The body must be a JSON object holding a {resource_type} resource.", expression=BODY)
    found = data.get("resourceType")
    if not isinstance(found, str) or not found:
        raise Invalid("The resource has no resourceType.", expression="resourceType")
    if found != resource_type:
        raise Unprocessable(
            f"This endpoint takes a {resource_type} resource, not {found[:64]}.", expression="resourceType"
        )
    return data


def _parse(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise Invalid("The request body is empty; send a JSON document.", expression=BODY)
    try:
        # parsed from the bytes: json.loads would first decode the whole body to a str (one more copy
        # of a 28 MB body); what this parser refuses goes to json.loads, which words the refusal, and
        # reads what it accepts beyond this one (a BOM, UTF-16, lone surrogates, deeper nesting)
        # (cache_strings off: short strings, names and INS among them, must not outlive the request)
        return pydantic_core.from_json(raw, allow_inf_nan=False, cache_strings=False)
    except ValueError:
        pass
    try:
        # NaN and Infinity are not JSON; Python accepts them unless told not to
        value = json.loads(raw, parse_constant=_reject_constant)
        # a lone surrogate (\ud800) is no Unicode text: it would fail later, as a 500, where text is encoded
        json.dumps(value, ensure_ascii=False).encode()
        return value
    except UnicodeEncodeError:
        raise Invalid("The request body holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text.",
                      expression=BODY) from None
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            expression=BODY,
        ) from None
    except RecursionError:  # arrays or objects nested some thousands deep: the decoder gives up
        raise Invalid("The request body nests arrays or objects too deeply.", expression=BODY) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid(f"The request body is not valid JSON: {exc}.", expression=BODY) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _invalid_from(exc: pydantic.ValidationError) -> Invalid:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    where = location(first["loc"])
    more = f" ({len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    subject = f"'{where}'" if where else "The body"
    return Invalid(f"{subject}: {first['msg']}.{more}", expression=where or BODY)


def location(loc: tuple[int | str, ...]) -> str:
    """Pydantic's error location as a path: ('recipients', 0, 'address') -> recipients[0].address."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def internal_error(exc: BaseException, *, fhir: bool, route: str) -> Response:
    """500 with a generic sentence and an error id; the stack trace goes to the log, never to the caller."""
    error_id = uuid.uuid4().hex
    # the route template, never the concrete path or body: both may carry patient identifiers
    _log.error("unhandled error %s on %s", error_id, route, exc_info=(type(exc), exc, exc.__traceback__))
    return error_response(
        500, "exception", f"An internal error occurred; quote error id {error_id} to the operator.",
        fhir=fhir, error_id=error_id,
    )
