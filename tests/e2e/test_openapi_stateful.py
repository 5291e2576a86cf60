"""Schemathesis' stateful run over the live server's OpenAPI: sequences of calls chained by
the links schemathesis infers between operations (an id one answer returns, used by the
next request), with an admin key on a real PostgreSQL. No 5xx, answers match the schema.

Bounded: a few scenarios of a few steps (well under a minute).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from tests.conftest import PgDatabases
from tests.e2e.conftest import LiveServer, start_server
from tests.e2e.test_openapi_fuzz import CHECKS, FUZZ_ADMIN_KEY, _seed

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCENARIOS = 10
STEPS = 6
MIN_LINKED_OPERATIONS = 5  # the inference finds links between at least these


@pytest.fixture(scope="module")
def stateful_server(
    pg_databases: PgDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    url = pg_databases.fresh()
    live = start_server(
        url, tmp_path_factory.mktemp("stateful") / "server.log", AZORA_ADMIN_API_KEY=FUZZ_ADMIN_KEY
    )
    yield live
    live.stop()
    pg_databases.drop(url)


def test_stateful_sequences(stateful_server: LiveServer) -> None:
    _seed(stateful_server)
    base_url = stateful_server.url
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
    assert "Traceback" not in Path(stateful_server.log_path).read_text()
