"""Schemathesis against the API's own OpenAPI document, as an admin: every operation with generated input, valid
and deliberately invalid (wrong types, missing fields, values out of range), then generated sequences that follow
the document's links (write a bulletin, read it, approve it, schedule it, stop it...). Nothing ever answers 5xx,
and every answer matches the document (status, content type, body).

Nothing is written into the checkout: schemathesis keeps whatever it writes in the test's tmp_path
(``load_schema``), Hypothesis in the suite's own folder (tests/conftest.py)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.env import Env
from tests.support.faults import Tally

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
EXAMPLES = 25
"""Generated requests per operation, of each kind (valid, invalid): as many as the outside fuzzer sends."""
SEQUENCES = 150
"""Generated sequences of linked requests in the stateful phase, each of up to STEPS requests."""
STEPS = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SKIPPED = {"/events", "/broadcasts/{broadcast_id}/events"}  # live streams held open for minutes by design, with
# nothing to generate (test_dashboard)


def load_schema(env: Env, tmp_path: Path) -> Any:
    # A bulletin and a broadcast to find, so that generated ids sometimes hit something real.
    env.broadcast("Bản tin cho máy thử.", targets=["loa-01"])
    # The configuration is given rather than discovered (from a schemathesis.toml above the working directory),
    # and where schemathesis may write (the cache of what it learnt, reports) is the test's own. Generated
    # requests carry no Authorization of their own: each is sent with the admin's token.
    config = schemathesis.Config.from_dict({
        "cache": {"enabled": False, "directory": str(tmp_path / "schemathesis")},
        "reports": {"directory": str(tmp_path / "schemathesis-report")},
        "generation": {"database": "none", "with-security-parameters": False},
    })
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", env.app, config=config)


def keep_our_token(env: Env) -> Callable[[schemathesis.Case], None]:
    """Generated requests may revoke any token, the one they are sent with too (its id read from ``GET /tokens``
    in a sequence, or simply guessed), after which every answer would be a 401 and nothing more tested: such a
    request goes to a token that does not exist instead."""
    ours = {token["id"] for token in env.client.get("/api/v1/tokens", headers=env.auth).get_json()}

    def spare(case: schemathesis.Case) -> None:
        if case.method == "DELETE" and case.path == "/tokens/{token_id}" and \
                case.path_parameters.get("token_id") in ours:
            case.path_parameters = {**case.path_parameters, "token_id": 2**62}

    return spare


def restorer(env: Env) -> Callable[[], None]:
    """Put the database back as it is now. Each generated sequence then starts from the same state, and a
    sequence Hypothesis replays meets the same answers; otherwise it stops with FlakyStrategyDefinition (the same
    draws took another turn because an earlier sequence had changed what exists)."""
    saved = sqlite3.connect(":memory:")
    with env.db.engine.connect() as connection:
        connection.connection.dbapi_connection.backup(saved)  # type: ignore[union-attr]

    def restore() -> None:
        with env.db.engine.connect() as connection:
            saved.backup(connection.connection.dbapi_connection)  # type: ignore[arg-type]

    return restore


def test_generated_requests_never_break_the_api(env: Env, tally: Tally, tmp_path: Path) -> None:
    schema = load_schema(env, tmp_path)
    spare = keep_our_token(env)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
            def run(case: schemathesis.Case) -> None:
                spare(case)
                response = case.call(headers=env.auth)
                statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # Nothing the document forbids can be sent: no parameters and no body, or only ones any text fits
                # (an asset's id, a CAP alert's XML). A JSON body can always be made invalid.
                if mode is GenerationMode.POSITIVE or any(b.media_type == "application/json" for b in operation.body):
                    failures.append(f"{operation.method.upper()} {operation.path} ({mode}): nothing generated")
            except (Exception, BaseExceptionGroup) as exc:  # one operation's failure must not hide the others'
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {str(exc)[:600]}")
    requests = sum(statuses.values())
    tally(tried=f"schemathesis: {operations} operations x up to {EXAMPLES} valid and {EXAMPLES} invalid generated "
                "requests as an admin", requests=requests,
          server_errors=sum(n for code, n in statuses.items() if code >= 500), crashes=len(failures))
    assert operations > 30 and requests > operations
    assert not failures, "\n\n".join(failures)


def test_generated_sequences_of_linked_requests_never_break_the_api(env: Env, tally: Tally, tmp_path: Path) -> None:
    # Not the event streams: a sequence that reached one (POST /broadcasts links to its stream) would wait on it.
    schema = load_schema(env, tmp_path).exclude(path=sorted(SKIPPED))
    spare, restore, auth = keep_our_token(env), restorer(env), env.auth
    statuses: Counter[int] = Counter()
    steps: Counter[str] = Counter()

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        """The links of the document (and those schemathesis infers from it), followed as an admin."""

        def setup(self) -> None:
            restore()

        def before_call(self, case: schemathesis.Case) -> None:
            spare(case)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": auth}

        def validate_response(self, response: Any, case: schemathesis.Case, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            statuses[response.status_code] += 1
            steps[f"{case.method} {case.path}"] += 1
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder)

    Workflow.run(settings=settings(max_examples=SEQUENCES, stateful_step_count=STEPS, deadline=None,
                                   derandomize=True, database=None, phases=[Phase.generate],
                                   suppress_health_check=list(HealthCheck)))
    requests = sum(statuses.values())
    tally(tried=f"schemathesis stateful: {SEQUENCES} generated sequences of up to {STEPS} linked requests as an "
                "admin", requests=requests, server_errors=sum(n for code, n in statuses.items() if code >= 500))
    assert requests > SEQUENCES
    linked = {"GET /bulletins/{bulletin_id}", "POST /bulletins/{bulletin_id}/approve",
              "GET /broadcasts/{broadcast_id}", "POST /broadcasts/{broadcast_id}/stop"}
    assert all(steps[step] for step in linked), f"the links were followed: {sorted(steps.items())}"
    assert statuses[201] and statuses[200], "some sequences went somewhere"
