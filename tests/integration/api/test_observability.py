"""What operators see of a running app: request ids, latency by route in /metrics, /readyz."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import ADMIN, Api

pytestmark = pytest.mark.integration


def test_metrics_show_latency_by_route_and_answers_carry_request_ids(api: Api) -> None:
    answer = api.client.get("/v1/accounts/user:alice:usd", headers={**ADMIN, "X-Request-Id": "r-1"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "r-1"
    refused = api.client.get("/v1/accounts/user:alice:usd")
    assert refused.status_code == 401 and len(refused.headers["x-request-id"]) == 32
    text = api.client.get("/metrics").text
    assert 'route="/v1/accounts/{account_id}",status="2xx"' in text
    assert 'route="/v1/accounts/{account_id}",status="4xx"' in text
    assert "user:alice:usd" not in text, "series by template, never by concrete path"
    assert "azora_journal_seq " in text and "azora_unanchored_leaves " in text


def test_readyz_reports_the_database_and_the_chain_separately(api: Api) -> None:
    body = api.client.get("/readyz").json()
    assert body == {"status": "ok", "database": "ok", "chain": "disabled"}
