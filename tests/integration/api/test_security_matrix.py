"""Who may do what: every endpoint x every wrong credential is never a 2xx, and writes nothing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from api.security import issue_user_token
from tests.integration.api.conftest import ADMIN, JWT_SECRET, Api, bearer, make_client

pytestmark = pytest.mark.integration

Request = tuple[str, str, dict[str, object] | None]


def _requests(api: Api) -> dict[str, list[Request]]:
    """Requests on alice's resources, by the scope they need."""
    hold = api.move("user:alice:usd", "user:bob:usd", "10", "m-hold", pending=True)
    entry = api.move("user:alice:usd", "world:card", "1", "m-entry")
    posting = {
        "source": "user:alice:usd",
        "destination": "world:card",
        "asset": "USD",
        "amount": "50",
    }
    key_id, _ = api.key("ledger:read")
    read: list[Request] = [
        ("GET", "/v1/accounts/user:alice:usd", None),
        ("GET", "/v1/accounts/user:alice:usd/entries", None),
        ("GET", f"/v1/entries/{entry['id']}", None),
        ("GET", f"/v1/entries/{hold['id']}", None),
    ]
    write: list[Request] = [
        ("POST", "/v1/accounts", {"id": "user:alice:usd2", "asset": "USD"}),
        ("POST", "/v1/entries", {"kind": "steal", "postings": [posting]}),
        (
            "POST",
            "/v1/entries/batch",
            {"entries": [{"idempotency_key": "m-b", "kind": "steal", "postings": [posting]}]},
        ),
        ("POST", f"/v1/entries/{hold['id']}/post", None),
        ("POST", f"/v1/entries/{hold['id']}/void", None),
    ]
    admin: list[Request] = [
        ("GET", "/v1/admin/api-keys", None),
        ("POST", "/v1/admin/api-keys", {"scopes": ["admin"]}),
        ("POST", f"/v1/admin/api-keys/{key_id}/revoke", None),
        ("POST", "/v1/admin/tokens", {"user_id": "alice"}),
    ]
    return {"read": read, "write": write, "admin": admin}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bad_tokens() -> dict[str, str]:
    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    expired, _ = issue_user_token(
        "alice", JWT_SECRET, 60, now=datetime.now(UTC) - timedelta(hours=2)
    )
    forged, _ = issue_user_token("alice", "not-the-secret-" * 4, 600)
    return {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'alice', 'exp': exp})}.",
        "expired": expired,
        "forged": forged,
        "garbage": "not-a-token",
        "fake-key": "azora_0123456789abcdef_" + "x" * 43,
    }


def test_authorization_matrix(api: Api) -> None:
    by_scope = _requests(api)
    revoked_id, revoked = api.key("admin")
    assert (
        api.client.post(f"/v1/admin/api-keys/{revoked_id}/revoke", headers=ADMIN).status_code == 200
    )
    before = api.client.get("/v1/accounts/user:alice:usd", headers=ADMIN).json()

    # (credential headers, scopes it must be refused on, the status expected)
    cases: list[tuple[str, dict[str, str], list[str], int | None]] = [
        ("none", {}, ["read", "write", "admin"], 401),
        ("revoked-key", bearer(revoked), ["read", "write", "admin"], 401),
        ("other-user", bearer(api.token("mallory")), ["read", "write", "admin"], 404),
        ("bob-token", bearer(api.bob), ["write", "admin"], 404),
        ("alice-token", bearer(api.alice), ["write", "admin"], 404),
        ("read-only-key", bearer(api.reader), ["write", "admin"], 403),
        ("write-only-key", bearer(api.writer), ["read", "admin"], 403),
        ("basic-auth", {"Authorization": "Basic YWRtaW46YWRtaW4="}, ["read"], 401),
    ]
    cases += [
        (name, bearer(tok), ["read", "write", "admin"], 401) for name, tok in _bad_tokens().items()
    ]
    failures: list[str] = []
    for name, headers, scopes, expected in cases:
        for scope in scopes:
            for method, path, body in by_scope[scope]:
                got = api.client.request(
                    method, path, json=body, headers={**headers, "Idempotency-Key": f"m-{name}"}
                )
                if got.status_code != expected or not got.headers["content-type"].startswith(
                    "application/problem+json"
                ):
                    failures.append(f"{name} {method} {path}: {got.status_code} {got.text[:80]}")
    assert not failures, "\n".join(failures)

    after = api.client.get("/v1/accounts/user:alice:usd", headers=ADMIN).json()
    assert after == before, "a refused request wrote something"


def test_bob_reads_his_own_but_not_alices(api: Api) -> None:
    own = api.client.get("/v1/accounts/user:bob:usd", headers=bearer(api.bob))
    alices = api.client.get("/v1/accounts/user:alice:usd", headers=bearer(api.bob))
    missing = api.client.get("/v1/accounts/user:bob:nothing", headers=bearer(api.bob))
    assert own.status_code == 200
    assert alices.status_code == missing.status_code == 404
    assert alices.json()["type"] == missing.json()["type"]
    # 401 answers carry the challenge
    anon = api.client.get("/v1/accounts/user:bob:usd")
    assert anon.status_code == 401 and anon.headers["www-authenticate"] == "Bearer"


def test_revocation_takes_effect_at_once(api: Api) -> None:
    key_id, key = api.key("ledger:read")
    assert api.client.get("/v1/accounts/world:card", headers=bearer(key)).status_code == 200
    api.client.post(f"/v1/admin/api-keys/{key_id}/revoke", headers=ADMIN)
    assert api.client.get("/v1/accounts/world:card", headers=bearer(key)).status_code == 401
    listed = api.client.get("/v1/admin/api-keys", headers=ADMIN).json()["data"]
    assert {k["id"]: k["revoked_at"] is not None for k in listed}[key_id]
    assert all("key" not in k and "secret_hash" not in k for k in listed)


def test_rate_limit_answers_429_with_retry_after(pg_url: str) -> None:
    with make_client(pg_url, rate_limit_per_s=0.5, rate_limit_burst=3) as client:
        statuses = [client.get("/v1/admin/api-keys", headers=ADMIN).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/v1/admin/api-keys", headers=ADMIN)
        assert limited.json()["type"].endswith("/rate-limited")
        assert int(limited.headers["Retry-After"]) >= 1


def test_body_over_the_limit_is_413(pg_url: str) -> None:
    with make_client(pg_url, max_body_bytes=2048) as client:
        body = {"id": "world:card", "asset": "USD", "metadata": {"pad": "x" * 4096}}
        got = client.post("/v1/accounts", json=body, headers=ADMIN)
        assert got.status_code == 413
        assert got.json()["type"].endswith("/payload-too-large")
