"""What the HTTP layer answers at its edges: request ids, missing headers, bodies that are
not JSON, the problem pages and the offline docs."""

from __future__ import annotations

import httpx
import pytest

from api.errors import PROBLEM_BASE
from tests.integration.api.conftest import ADMIN, Api

ENTRY = (
    b'{"kind": "transfer", "postings": [{"source": "user:alice:usd", '
    b'"destination": "user:bob:usd", "asset": "USD", "amount": "1"}]}'
)


def _post(api: Api, body: bytes, **headers: str) -> httpx.Response:
    got: httpx.Response = api.client.post(
        "/v1/entries",
        content=body,
        headers={**ADMIN, "Content-Type": "application/json", **headers},
    )
    return got


def test_a_request_id_is_echoed_or_made_and_is_in_every_problem(api: Api) -> None:
    mine = api.client.get(
        "/v1/accounts/user:alice:usd", headers={**ADMIN, "X-Request-Id": "trace-42"}
    )
    assert mine.status_code == 200 and mine.headers["x-request-id"] == "trace-42"
    refused = api.client.get(
        "/v1/accounts/user:nobody:usd", headers={**ADMIN, "X-Request-Id": "trace-43"}
    )
    assert refused.status_code == 404
    assert refused.json()["request_id"] == "trace-43" == refused.headers["x-request-id"]
    made = api.client.get(
        "/v1/accounts/user:nobody:usd", headers={**ADMIN, "X-Request-Id": "x" * 129}
    )
    assert made.headers["x-request-id"] != "x" * 129
    assert made.json()["request_id"] == made.headers["x-request-id"]
    unauthenticated = api.client.get("/v1/accounts")
    assert unauthenticated.json()["request_id"] == unauthenticated.headers["x-request-id"]
    too_big = api.client.post(
        "/v1/entries", content=b"{" * 10, headers={**ADMIN, "Content-Length": str(10**9)}
    )
    assert too_big.status_code == 413 and too_big.json()["request_id"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"kind": "transfer",', b"\xff\xfe\x00garbage", b"", b'{"a": "\xed\xa0\x80"}'],
)
def test_an_undecodable_body_is_400_problem(api: Api, body: bytes) -> None:
    got = _post(api, body, **{"Idempotency-Key": "undecodable"})
    assert got.status_code in (400, 422), got.text
    if body and b"\xed" not in body:  # (a surrogate's bytes decode: then an invalid text)
        assert got.status_code == 400, (body, got.text)
        assert got.json()["type"] == PROBLEM_BASE + "bad-request"
    assert got.headers["content-type"].startswith("application/problem+json")
    # Refused requests do not consume the key.
    assert _post(api, ENTRY, **{"Idempotency-Key": "undecodable"}).status_code == 201


def test_a_missing_idempotency_key_is_400_and_documented_required(api: Api) -> None:
    for headers in ({}, {"Idempotency-Key": ""}):
        got = _post(api, ENTRY, **headers)
        assert got.status_code == 400, got.text
        assert got.json()["type"] == PROBLEM_BASE + "missing-idempotency-key"
    bad_body_too = _post(api, b'{"kind": 5}')
    assert bad_body_too.json()["type"] == PROBLEM_BASE + "missing-idempotency-key"
    spec = api.client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                if param["name"] == "Idempotency-Key":
                    described = param.get("description", "")
                    if described.startswith("Optional"):
                        assert not param.get("required"), (method, path)
                        continue
                    assert param["required"] is True, (method, path)
                    assert "Required" not in described and "400" in described
                    assert "400" in op["responses"], (method, path)
