"""The @http entrypoint: bounds the body, authenticates, runs a worker and maps its result or error."""
from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from eventlet.event import Event
from nameko.exceptions import BadRequest, ContainerBeingKilled
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from services.shared.errors import MaillageError, TooLarge, Unauthorized, Unavailable
from services.shared.web.capabilities import API_PREFIX, ApiOperation, FhirInteraction
from services.shared.web.responses import (
    FHIR_PREFIX,
    error_response,
    fhir_json,
    internal_error,
    is_fhir_path,
    json_response,
)
from services.shared.web.server import ERROR_KEY, EdgeRequest, SharedWebServer

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_MAX_BODY = 1_048_576
_NOT_TOKEN_CHARS = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')  # RFC 6750 error_description charset


_PIECE_BYTES = 64 * 1024


class BodiesOverBudget(Unavailable):
    """The process already holds MAILLAGE_HTTP_BODY_BUDGET_BYTES of request bodies (HTTP 503)."""

    retry_after = 1


class _OneLinePerHttpError(logging.Filter):
    """nameko logs every failed worker with its traceback (~20 lines for a 400). For HTTP entrypoints
    the edge already writes one access line per request (with the error's type), and the traceback
    of an unexpected error once, under the error id quoted to the caller (``internal_error``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in _WORKER_FAILED or not record.args or not isinstance(record.args, tuple):
            return True
        return not isinstance(getattr(record.args[0], "entrypoint", None), HttpEntrypoint)


_WORKER_FAILED = frozenset({"(expected) error handling worker %s: %s", "error handling worker %s: %s"})


class HttpEntrypoint(HttpRequestHandler):
    server = SharedWebServer()

    def __init__(
        self, method: str, url: str, *, public: bool = False, fhir: FhirInteraction | None = None,
        api: ApiOperation | None = None, max_body_bytes: int = DEFAULT_MAX_BODY, **kwargs: Any,
    ) -> None:
        # mistakes in a declaration should fail at import, not as a wrong document at run time
        if fhir is not None and not is_fhir_path(url):
            raise ValueError(f"{url}: a FHIR interaction must be served under {FHIR_PREFIX}.")
        if api is not None and not url.startswith(API_PREFIX):
            raise ValueError(f"{url}: an API operation must be served under {API_PREFIX}.")
        # our own errors are answers, not faults: nameko then logs them as warnings, without alarm
        expected = kwargs.pop("expected_exceptions", ())
        expected = expected if isinstance(expected, tuple) else (expected,)
        super().__init__(method.upper(), url, expected_exceptions=(MaillageError, *expected), **kwargs)
        self.public = public
        self.fhir = fhir
        self.api = api
        self.max_body_bytes = max_body_bytes
        self.is_fhir = is_fhir_path(url)
        self._bindable: set[tuple[int, tuple[str, ...]]] = set()  # argument shapes the method was seen to accept

    def handle_request(self, request: EdgeRequest) -> Response:
        held = [0]  # bytes of the body taken from the process's budget, given back once answered
        try:
            self._admit(request, held)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(
                self, args, kwargs, context_data=self.server.context_data_from_headers(request),
                handle_result=partial(self.handle_result, event),
            )
            return self.response_from_result(event.wait())
        except Exception as exc:  # noqa: BLE001 - mapped to a status below, unknown ones to a logged 500
            request.environ[ERROR_KEY] = type(exc).__name__
            return self.response_from_exception(exc)
        finally:
            budget = self.server.body_budget
            if budget is not None and held[0]:
                budget.give_back(held[0])

    def check_signature(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """nameko's check (``inspect.getcallargs``, tens of microseconds) once per shape of arguments:
        whether a call binds depends only on how many positional arguments and which keywords it has."""
        shape = (len(args), tuple(sorted(kwargs)))
        if shape not in self._bindable:
            super().check_signature(args, kwargs)
            self._bindable.add(shape)

    def _admit(self, request: EdgeRequest, held: list[int]) -> None:
        """Reject before a worker is spent: a declared oversize body, a bad token, then an actual
        oversize body, or one the process has no room to hold right now."""
        limit = self.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(f"The request body is larger than the {limit} bytes this endpoint accepts.")
        request.principal = None if self.public else self._authenticator().authenticate(
            request.headers.get("Authorization")
        )
        self._read_body(request, limit, held)  # read now, before a worker is spent
        request.shallow = False

    def _read_body(self, request: EdgeRequest, limit: int, held: list[int]) -> None:
        """The whole body into memory, each piece taken from the process's body budget as it arrives
        (a slow sender holds only what it sent); then werkzeug reads it from there."""
        budget = self.server.body_budget
        stream, parts, size = request.environ["wsgi.input"], [], 0
        while True:
            piece = stream.read(min(_PIECE_BYTES, limit + 1 - size))  # one byte more tells full from too big
            if not piece:
                break
            size += len(piece)
            if size > limit:
                raise TooLarge(f"The request body is larger than the {limit} bytes this endpoint accepts.")
            if budget is not None:
                if not budget.take(len(piece)):
                    raise BodiesOverBudget("The server holds too many request bodies right now; retry shortly.")
                held[0] += len(piece)
            parts.append(piece)
        body = b"".join(parts)
        request.environ["wsgi.input"] = io.BytesIO(body)
        request.environ["CONTENT_LENGTH"] = str(len(body))
        request.environ.pop("HTTP_TRANSFER_ENCODING", None)

    def _authenticator(self) -> Any:
        authenticator = self.server.authenticator
        if authenticator is None:  # a request raced the container's stop
            raise Unavailable("The service is shutting down; retry.")
        return authenticator

    def response_from_result(self, result: Any) -> Response:
        """A Response as is; else `body`, `(status, body)` or `(status, headers, body)` with a JSON body."""
        if isinstance(result, Response):
            return result
        status, headers, body = 200, None, result
        if isinstance(result, tuple):
            status, headers, body = result if len(result) == 3 else (result[0], None, result[1])
        if body is None:
            return Response(status=status, headers=headers)
        if isinstance(body, (str, bytes)):
            return Response(body, status=status, headers=headers)
        return (fhir_json if self.is_fhir else json_response)(body, status=status, headers=headers)

    def response_from_exception(self, exc: BaseException) -> Response:
        if isinstance(exc, MaillageError):
            headers = {"WWW-Authenticate": bearer_challenge(exc.message)} if isinstance(exc, Unauthorized) else None
            if isinstance(exc, Unavailable):
                headers = {"Retry-After": str(getattr(exc, "retry_after", 1))}
            return error_response(
                exc.status, exc.code, exc.message, fhir=self.is_fhir, expression=exc.expression, headers=headers
            )
        if isinstance(exc, ContainerBeingKilled):
            return error_response(503, "transient", "The service is shutting down; retry.", fhir=self.is_fhir)
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            # a pooled connection the server dropped (restart, idle timeout): nothing was committed, the pool
            # is renewed, and the client's retry (with its Idempotency-Key) gets a fresh connection
            return error_response(503, "transient", "The database connection was lost; retry.", fhir=self.is_fhir,
                                  headers={"Retry-After": "1"})
        if isinstance(exc, (*self.expected_exceptions, BadRequest)):
            return error_response(400, "invalid", str(exc), fhir=self.is_fhir)
        return internal_error(exc, fhir=self.is_fhir, route=self.url)


def bearer_challenge(description: str) -> str:
    safe = _NOT_TOKEN_CHARS.sub("?", description)
    return f'Bearer error="invalid_token", error_description="{safe}"'


def http(
    method: str, url: str, *, public: bool = False, fhir: FhirInteraction | None = None,
    api: ApiOperation | None = None, max_body_bytes: int = DEFAULT_MAX_BODY,
    expected_exceptions: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> Callable[[F], F]:
    """Declare an HTTP entrypoint on the process-wide listener; authenticated unless `public`."""
    decorator: Callable[[F], F] = HttpEntrypoint.decorator(
        method, url, public=public, fhir=fhir, api=api, max_body_bytes=max_body_bytes,
        expected_exceptions=expected_exceptions,
    )
    return decorator


logging.getLogger("nameko.containers").addFilter(_OneLinePerHttpError())
