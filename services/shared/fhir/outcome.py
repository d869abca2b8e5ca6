"""FHIR OperationOutcome resources: the one builder the edge and every service use."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def issue(code: str, diagnostics: str, *, severity: str = "error", expression: str | None = None) -> dict[str, Any]:
    """One ``issue``: a FHIR issue-type ``code``, one sentence, the offending element when known."""
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = [expression]
    return out


def operation_outcome(
    code: str, diagnostics: str, *, severity: str = "error", expression: str | None = None
) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [issue(code, diagnostics, severity=severity, expression=expression)]}


def outcome_of(issues: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


def ignored_parameters(keys: Iterable[str]) -> dict[str, Any]:
    """What lenient handling (``Prefer: handling=lenient``) left out of a search, said back as warnings."""
    return outcome_of(
        issue("not-supported", f"The parameter '{key}' was ignored (unknown or malformed; Prefer: handling=lenient).",
              severity="warning", expression=key)
        for key in keys)
