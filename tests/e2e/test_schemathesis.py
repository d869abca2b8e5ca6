"""Schemathesis against `maillage up`: requests generated from the OpenAPI document the platform serves,
schema-valid ones (positive) and schema-invalid ones (negative), over real HTTP with an administrator's token.

Checked for every case: no 5xx (``not_a_server_error``) and, where the document declares a response body,
that the answer conforms (``response_schema_conformance``); for positive cases, that a schema-valid request
is not refused as malformed (``positive_data_acceptance``), except on the operations listed in
``DEPENDS_ON_STATE``, whose acceptance needs data that no schema can describe.

Bounded and repeatable (derandomized). A larger campaign by hand, with counts per route and outcome:
    python -m tests.e2e.test_schemathesis --base http://127.0.0.1:8080 --positive 150 --negative 40
(the token from `maillage token --service schemathesis --role admin` in MAILLAGE_TOKEN).
"""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, positive_data_acceptance, response_schema_conformance

from tests.support import api_formats  # noqa: F401 - registers the identifier formats (RPPS, INS, ...)

pytestmark = pytest.mark.e2e

POSITIVE_EXAMPLES = 25
NEGATIVE_EXAMPLES = 10

# Schema-valid requests these operations may refuse as malformed (400/422), and why.
DEPENDS_ON_STATE = {
    "POST /api/v1/enrolments": "the RPPS number must be in the national directory, with the same names, and the "
                               "certificate, when given, a real X.509 certificate",
    "POST /api/v1/directory/certificates": "the PEM must be a real X.509 certificate (one a schema cannot generate)",
    "POST /api/v1/messages": "the content must be a body, a signed or an encrypted S/MIME entity (base64 of real "
                             "CMS), with at least one recipient",
    "GET /api/v1/directory/certificates": "one of the query parameters mailbox and rpps is required, which OpenAPI "
                                          "cannot state for query parameters",
}


@dataclass
class Campaign:
    """What a run saw: a count per (operation, generation mode, status), and the failed checks."""

    outcomes: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    # positive cases whose path parameters, as generated, break their own schema (seen: a U+FFFD in an
    # address whose pattern is ASCII only): their refusal says nothing about the API, they are not checked
    # for acceptance, only counted
    not_schema_valid: int = 0

    def table(self) -> str:
        lines = [f"{count:6d}  {status}  {mode:8s} {label}"
                 for (label, mode, status), count in sorted(self.outcomes.items())]
        return "\n".join(lines + [f"{sum(self.outcomes.values()):6d}  cases",
                                  f"{self.not_schema_valid:6d}  positive cases not schema-valid as generated"])


def reproducer(case: Any) -> str:
    """The request without its token: method, path, query and (cut) body."""
    query = f"?{case.query}" if case.query else ""
    body = "" if case.body is None or case.body.__class__.__name__ == "NotSet" else json.dumps(case.body)[:300]
    return f"{case.method} {case.formatted_path}{query} {body} (path parameters {case.path_parameters!r})".strip()


def fuzz(base: str, token: str, *, positive: int, negative: int, seeded: bool = True) -> Campaign:
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    campaign = Campaign()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in ((GenerationMode.POSITIVE, positive), (GenerationMode.NEGATIVE, negative)):
            if examples:
                _run(operation, mode, examples, base, headers, campaign, seeded)
    return campaign


def _run(operation: Any, mode: GenerationMode, examples: int, base: str, headers: dict[str, str],
         campaign: Campaign, seeded: bool) -> None:
    basic: list[Callable[..., Any]] = [not_a_server_error, response_schema_conformance]
    acceptance = mode is GenerationMode.POSITIVE and operation.label not in DEPENDS_ON_STATE
    path_schemas = {p["name"]: p.get("schema", {}) for p in operation.definition.raw.get("parameters", [])
                    if p.get("in") == "path"}

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seeded, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        valid = all(jsonschema.Draft202012Validator(path_schemas.get(name, {})).is_valid(unquote(value))
                    for name, value in (case.path_parameters or {}).items())
        checks = basic + [positive_data_acceptance] if acceptance and valid else basic
        campaign.not_schema_valid += acceptance and not valid
        response = case.call(base_url=base, headers=headers, timeout=30)
        campaign.outcomes[(operation.label, mode.value, response.status_code)] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (AssertionError, BaseExceptionGroup) as exc:
            campaign.failures.append(f"{mode.value} {response.status_code} {reproducer(case)}\n    {_first_line(exc)}")

    run()


def _first_line(exc: BaseException) -> str:
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
    return " | ".join(" ".join(str(part).split())[:300] for part in parts)


def test_generated_requests_get_no_5xx_and_schema_valid_ones_are_accepted(imported: Any) -> None:
    token = imported.issuer.mint(service="schemathesis", roles=["admin"])
    campaign = fuzz(imported.base, token, positive=POSITIVE_EXAMPLES, negative=NEGATIVE_EXAMPLES)
    print(campaign.table())  # shown with -s, or when the test fails
    assert len({label for label, _mode, _status in campaign.outcomes}) >= 15, campaign.table()
    assert not campaign.failures, "\n".join(campaign.failures)


def main() -> None:
    parser = argparse.ArgumentParser(description="A Schemathesis campaign against a running platform.")
    parser.add_argument("--base", default="http://127.0.0.1:8080")
    parser.add_argument("--positive", type=int, default=150)
    parser.add_argument("--negative", type=int, default=40)
    args = parser.parse_args()
    campaign = fuzz(args.base, os.environ["MAILLAGE_TOKEN"], positive=args.positive, negative=args.negative,
                    seeded=False)
    print(campaign.table())
    print(f"{len(campaign.failures)} failed checks")
    for failure in campaign.failures:
        print(failure)


if __name__ == "__main__":
    main()
