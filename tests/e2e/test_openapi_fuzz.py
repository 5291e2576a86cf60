"""Schemathesis over the live server's OpenAPI: no 5xx, and answers match the schema, for
each operation alone and for stateful sequences of them (linked by the ids answers return).

Bounded: a few examples per operation and generation mode, a few short sequences (well
under a minute each).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

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

from tests.conftest import PgDatabases
from tests.e2e.conftest import LiveServer, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FUZZ_ADMIN_KEY = "fuzz-admin-key-0123456789abcdef-0123456789"
MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(
    pg_databases: PgDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    url = pg_databases.fresh()
    live = start_server(
        url, tmp_path_factory.mktemp("fuzz") / "server.log", AZORA_ADMIN_API_KEY=FUZZ_ADMIN_KEY
    )
    yield live
    live.stop()
    pg_databases.drop(url)


def _seed(server: LiveServer) -> None:
    """Give generated requests something to find: the schema's example accounts exist."""
    import httpx

    auth = {"Authorization": f"Bearer {FUZZ_ADMIN_KEY}"}
    for body in (
        {"id": "world:card", "asset": "USD", "allow_negative": True},
        {"id": "user:42:usd", "asset": "USD"},
        {"id": "user:7:usd", "asset": "USD"},
    ):
        httpx.post(f"{server.url}/v1/accounts", json=body, headers=auth).raise_for_status()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_conformance(fuzz_server: LiveServer, mode: GenerationMode) -> None:
    _seed(fuzz_server)
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    auth = {"Authorization": f"Bearer {FUZZ_ADMIN_KEY}", "Idempotency-Key": "fuzz"}
    failures: list[str] = []
    # Err results would fail loudly on .ok(): an invalid schema is a failure too.
    operations = [cast(Any, result).ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    for operation in operations:
        if operation.path.endswith("/revoke"):
            continue  # would only ever 404 (ids are random); covered by the matrix tests
        failures += _fuzz(operation, mode, fuzz_server.url, auth)
    assert not failures, "\n\n".join(failures[:10])
    assert "Traceback" not in Path(fuzz_server.log_path).read_text()


def _fuzz(operation: Any, mode: GenerationMode, base_url: str, auth: dict[str, str]) -> list[str]:
    """Run one operation's generated cases; the failures, each with its reproduction."""
    failures: list[str] = []

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.headers = {**(case.headers or {}), **auth}
        response = case.call(base_url=base_url, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as error:  # collect all failures, report them together
            failures.append(f"{operation.label}: {str(error)[:600]}")

    try:
        run()
    except Unsatisfiable:
        # Nothing to break: e.g. /healthz has no parameters to make negative.
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


# The stateful run: sequences chained by the links schemathesis infers between operations
# (an id one answer returns, used by the next request). A few scenarios of a few steps.
SCENARIOS = 10
STEPS = 6
MIN_LINKED_OPERATIONS = 5  # the inference finds links between at least these


def test_stateful_sequences(fuzz_server: LiveServer) -> None:
    _seed(fuzz_server)
    base_url = fuzz_server.url
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    auth = {"Authorization": f"Bearer {FUZZ_ADMIN_KEY}"}
    machine = schema.as_state_machine()
    linked = schema.operations_with_incoming_links()
    print(f"operations with incoming links: {len(linked)}")
    assert len(linked) >= MIN_LINKED_OPERATIONS, sorted(linked)
    calls: list[str] = []

    class Sequences(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            key = f"stateful-{len(calls)}"  # a new Idempotency-Key per write
            case.headers = {**(case.headers or {}), **auth, "Idempotency-Key": key}
            return {"base_url": base_url, "timeout": 30}

        def validate_response(self, response: Any, case: Any, **_kwargs: Any) -> None:
            calls.append(f"{case.operation.label} -> {response.status_code}")
            case.validate_response(response, checks=CHECKS)

    Sequences.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    answered = Counter(call.rsplit(" ", 1)[1][0] + "xx" for call in calls)
    print(f"{len(calls)} calls: {dict(answered)}")
    assert len(calls) >= SCENARIOS
    assert answered["2xx"] > 0  # some sequences got past validation and authorization
    assert "Traceback" not in Path(fuzz_server.log_path).read_text()
