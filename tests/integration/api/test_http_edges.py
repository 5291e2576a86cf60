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


def test_every_problem_type_has_its_page(api: Api) -> None:
    from api.errors import STATUS_BY_CODE, TITLES

    index = api.client.get("/problems")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    for code, status in STATUS_BY_CODE.items():
        page = api.client.get(f"/problems/{code}")
        assert page.status_code == 200, code
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        assert f"{PROBLEM_BASE}{code}" in html and f"status</code>: {status}" in html
        assert TITLES[code].replace("'", "&#x27;") in html
        assert f'href="/problems/{code}"' in index.text
        assert "http://" not in html and "https://" not in html.replace(PROBLEM_BASE, "")
    assert api.client.get("/problems/no-such-thing").status_code == 404
    assert api.client.get("/problems/a%00b").status_code == 404
    # What the API answers names a page that exists.
    refused = api.client.post("/v1/entries", json={}, headers=ADMIN)
    code = refused.json()["type"].removeprefix(PROBLEM_BASE)
    assert api.client.get(f"/problems/{code}").status_code == 200
    funds = api.client.get("/problems/insufficient-funds").text
    assert "POST /v1/entries" in funds and "POST /v1/users/{user_id}/redemptions" in funds


def test_docs_are_served_from_local_assets(api: Api) -> None:
    import re

    docs = api.client.get("/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", docs.text)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", docs.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "cdn" not in docs.text.lower() and '"validatorUrl": null' in docs.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        got = api.client.get(f"/docs/assets/{asset}")
        assert got.status_code == 200 and len(got.content) > 500, asset
    assert api.client.get("/docs/assets/../../errors.py").status_code == 404
    assert api.client.get("/redoc").status_code == 404


def test_openapi_types_proofs_and_documents_each_routes_problem_types(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/anchors",
        "/v1/proofs/entries/{entry_id}",
        "/v1/proofs/entries/{entry_id}/receipt",
        "/v1/proofs/consistency",
    ):
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema, (path, schema)
    schemas = spec["components"]["schemas"]
    assert {"leaf", "inclusion_proof", "anchor"} <= set(schemas["EntryProof"]["properties"])
    assert {"from", "to", "proof"} <= set(schemas["ConsistencyProof"]["properties"])

    def codes(path: str, method: str, status: str) -> set[str]:
        response = paths[path][method]["responses"][status]
        return set(response["content"]["application/problem+json"]["examples"])

    assert "insufficient-funds" in codes("/v1/entries", "post", "409")
    assert "idempotency-conflict" in codes("/v1/entries", "post", "409")
    assert codes("/v1/accounts", "post", "409") == {"account-exists"}
    assert "hold-not-pending" in codes("/v1/entries/{entry_id}/void", "post", "409")
    assert "not-anchored" in codes("/v1/proofs/entries/{entry_id}", "get", "409")
    assert "missing-idempotency-key" in codes("/v1/entries", "post", "400")
    assert "missing-idempotency-key" not in codes("/v1/accounts/{account_id}", "get", "400")
    examples = {
        (path, method, status): frozenset(r["content"]["application/problem+json"]["examples"])
        for path, item in paths.items()
        for method, op in item.items()
        for status, r in op["responses"].items()
        if "application/problem+json" in r.get("content", {})
    }
    assert len(set(examples.values())) > 10  # not one example for every error
