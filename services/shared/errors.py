"""Domain error types shared by every service; the edges map them to HTTP, FHIR and HL7 errors."""
from __future__ import annotations


class MaillageError(Exception):
    """Base of every error the platform reports to a caller on purpose.

    ``code`` is a FHIR issue-type code (``invalid``, ``not-found``, ``conflict``...);
    ``expression`` names the offending element (FHIRPath or field name) when known.
    """

    status = 400
    code = "processing"

    def __init__(self, message: str, *, expression: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        if code is not None:
            self.code = code


class Invalid(MaillageError):
    """The input is malformed: a field is missing, of the wrong type or out of range."""

    status = 400
    code = "invalid"


class Unauthorized(MaillageError):
    """No valid credentials: the caller must authenticate (HTTP 401)."""

    status = 401
    code = "login"


class Forbidden(MaillageError):
    """Authenticated, but not allowed to do this (HTTP 403)."""

    status = 403
    code = "forbidden"


class NotFound(MaillageError):
    status = 404
    code = "not-found"


class Conflict(MaillageError):
    """The request clashes with the current state, e.g. a duplicate enrolment (HTTP 409)."""

    status = 409
    code = "conflict"


class PreconditionFailed(MaillageError):
    status = 412
    code = "conflict"


class Unprocessable(MaillageError):
    """Well formed, but breaks a business rule (HTTP 422)."""

    status = 422
    code = "business-rule"


class TooLarge(MaillageError):
    status = 413
    code = "too-costly"


class Unavailable(MaillageError):
    """A dependency (broker, database, directory) cannot be reached right now (HTTP 503)."""

    status = 503
    code = "transient"
