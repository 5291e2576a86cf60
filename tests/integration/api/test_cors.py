"""CORS is off unless AZORA_CORS_ORIGINS names origins; then only those get the headers,
on the full application and on the direct write path alike."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import ADMIN, make_client

pytestmark = pytest.mark.integration

ALLOWED = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
}
ACAO = "access-control-allow-origin"


def _entry(client: Any, origin: str, key: str) -> Any:
    client.post(
        "/v1/accounts",
        json={"id": "world:card", "asset": "USD", "allow_negative": True},
        headers=ADMIN,
    )
    client.post("/v1/accounts", json={"id": "user:1:usd", "asset": "USD"}, headers=ADMIN)
    posting = {"source": "world:card", "destination": "user:1:usd", "asset": "USD", "amount": "1"}
    return client.post(
        "/v1/entries",
        json={"kind": "transfer", "postings": [posting]},
        headers={**ADMIN, "Origin": origin, "Idempotency-Key": key},
    )


def test_no_cors_header_by_default(pg_url: str) -> None:
    with make_client(pg_url) as client:
        got = client.get("/v1/accounts", headers={**ADMIN, "Origin": ALLOWED})
        assert got.status_code == 200 and ACAO not in got.headers
        preflight = client.options("/v1/entries", headers={"Origin": ALLOWED, **PREFLIGHT})
        assert ACAO not in preflight.headers and preflight.status_code >= 400
        written = _entry(client, ALLOWED, "cors-off-1")
        assert written.status_code == 201 and ACAO not in written.headers


def test_configured_origins_only(pg_url: str) -> None:
    with make_client(pg_url, cors_origins=f" {ALLOWED} , https://b.example") as client:
        got = client.get("/v1/accounts", headers={**ADMIN, "Origin": ALLOWED})
        assert got.status_code == 200 and got.headers[ACAO] == ALLOWED
        assert "x-request-id" in got.headers["access-control-expose-headers"].lower()
        other = client.get("/v1/accounts", headers={**ADMIN, "Origin": "https://evil.example"})
        assert other.status_code == 200 and ACAO not in other.headers

        preflight = client.options("/v1/entries", headers={"Origin": ALLOWED, **PREFLIGHT})
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers[ACAO] == ALLOWED
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "idempotency-key"} <= {h.strip() for h in allowed.split(",")}
        refused = client.options(
            "/v1/entries", headers={"Origin": "https://evil.example", **PREFLIGHT}
        )
        assert refused.status_code == 400 and ACAO not in refused.headers

        # The direct write path hands a cross-origin request to the full application.
        written = _entry(client, ALLOWED, "cors-on-1")
        assert written.status_code == 201 and written.headers[ACAO] == ALLOWED
        assert "access-control-allow-credentials" not in written.headers
