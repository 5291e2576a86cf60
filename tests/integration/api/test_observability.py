"""What operators see of a running app: request ids, latency by route in /metrics, /readyz."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from tests.integration.api.conftest import ADMIN, Api, chain_down_app

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
    answer = api.client.get("/readyz")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["database"], body["chain"]) == ("ok", "ok", "disabled")
    assert body["checks"] == {
        "database": {"status": "ok", "error": None},
        "chain": {"status": "disabled", "chain_id": None},
        "anchor_lag": {"status": "disabled", "seconds": None, "leaves": None},
    }


DOCS = Path(__file__).resolve().parents[3] / "docs" / "ops"
EXTERNAL = {"probe_success"}  # the blackbox exporter's, not ours
_NAME = re.compile(r"\b(azora_[a-z_]+|probe_success)\b")


def _served_names(text: str) -> set[str]:
    """Every metric the scrape declares (``# TYPE``) or has a sample of."""
    names = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names | {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_the_alert_rules_and_the_dashboard_use_only_metrics_the_app_serves(pg_url: str) -> None:
    # Anchoring on (its gauges are served only then), with a chain that does not answer.
    with chain_down_app(pg_url) as (client, _context):
        client.get("/healthz")  # one request, so the latency histogram has a series
        served = _served_names(client.get("/metrics").text)
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in _NAME.findall(e)}
    assert used, "the rules name metrics"
    assert used - EXTERNAL <= served, f"not served: {sorted(used - EXTERNAL - served)}"
