"""What operators see of a running app: request ids, latency by route in /metrics, /readyz."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

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


DOCS = Path(__file__).resolve().parents[3] / "docs" / "ops"
EXTERNAL = {"probe_success"}  # the blackbox exporter's, not ours
_NAME = re.compile(r"\b(azora_[a-z_]+|probe_success)\b")


def _served_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names | {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_the_alert_rules_and_the_dashboard_use_only_metrics_the_app_serves(api: Api) -> None:
    api.client.get("/healthz")  # one request, so the latency histogram has a series
    served = _served_names(api.client.get("/metrics").text)
    # Anchoring's gauges are served only when anchoring is on (this app has it off): the
    # ones its code declares count as served.
    ops = (DOCS.parents[1] / "api" / "routers" / "ops.py").read_text()
    served |= set(re.findall(r"# TYPE (azora_[a-z_]+)", ops))
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in _NAME.findall(e)}
    assert used, "the rules name metrics"
    assert used - EXTERNAL <= served, f"not served: {sorted(used - EXTERNAL - served)}"
