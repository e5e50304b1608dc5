"""Schemathesis against the API's own OpenAPI document: every operation with generated input, as an admin, never
answers 5xx, and every answer matches the document (status, content type, body)."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Env
from tests.resilience.conftest import Tally

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
EXAMPLES = 12
"""Generated requests per operation: enough to find a crash, few enough for the suite's time."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_generated_requests_never_break_the_api(env: Env, tally: Tally) -> None:
    # A bulletin and a broadcast to find, so that generated ids sometimes hit something real.
    env.broadcast("Bản tin cho máy thử.", targets=["loa-01"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", env.app)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/events":
            continue  # a live stream held open for minutes by design, with nothing to generate (test_dashboard)
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=env.auth)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # one operation's failure must not hide the others'
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    requests = sum(statuses.values())
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    tally(tried=f"schemathesis: {operations} operations x up to {EXAMPLES} generated requests as an admin",
          requests=requests, server_errors=server_errors, crashes=len(failures))
    assert operations > 30 and requests > operations
    assert not failures, "\n\n".join(failures)
