"""Every /v1 endpoint through HTTP semantics: statuses, shapes, idempotency, holds, paging."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import ADMIN, Api, bearer

pytestmark = pytest.mark.integration


def test_account_create_is_idempotent_and_conflicts_on_difference(api: Api) -> None:
    body = {"id": "platform:fees", "asset": "USD"}
    first = api.client.post("/v1/accounts", json=body, headers=ADMIN)
    again = api.client.post("/v1/accounts", json=body, headers=ADMIN)
    other = api.client.post("/v1/accounts", json={**body, "asset": "AZR"}, headers=ADMIN)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert first.json() == again.json()
    assert other.json()["type"] == "https://azora.dev/problems/account-exists"
    assert other.headers["content-type"] == "application/problem+json"


def test_balance_is_decimal_strings_with_full_scale(api: Api) -> None:
    api.open("user:alice:azr", asset="AZR")
    got = api.client.get("/v1/accounts/user:alice:usd", headers=bearer(api.reader)).json()
    assert got["balance"] == "100.00" and got["available"] == "100.00"
    assert got["pending_out"] == "0.00" and got["asset"] == "USD"
    azr = api.client.get("/v1/accounts/user:alice:azr", headers=bearer(api.reader)).json()
    assert azr["balance"] == "0." + "0" * 18


def test_transfer_replay_and_conflict(api: Api) -> None:
    body = {
        "kind": "transfer",
        "postings": [
            {
                "source": "user:alice:usd",
                "destination": "user:bob:usd",
                "asset": "USD",
                "amount": "25.5",
            }
        ],
    }
    headers = {**bearer(api.writer), "Idempotency-Key": "t-1"}
    first = api.client.post("/v1/entries", json=body, headers=headers)
    replay = api.client.post("/v1/entries", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert first.json()["postings"][0]["amount"] == "25.50"
    changed = {**body, "kind": "transfer.other"}
    conflict = api.client.post("/v1/entries", json=changed, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("/idempotency-conflict")
    # The same key under another principal is another request.
    other = api.client.post("/v1/entries", json=body, headers={**ADMIN, "Idempotency-Key": "t-1"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    bob = api.client.get("/v1/accounts/user:bob:usd", headers=ADMIN).json()
    assert bob["balance"] == "51.00"


def test_missing_idempotency_key_is_400(api: Api) -> None:
    body = {
        "kind": "transfer",
        "postings": [
            {
                "source": "user:alice:usd",
                "destination": "user:bob:usd",
                "asset": "USD",
                "amount": "1",
            }
        ],
    }
    got = api.client.post("/v1/entries", json=body, headers=bearer(api.writer))
    assert got.status_code == 400
    assert got.json()["type"].endswith("/missing-idempotency-key")


def test_refused_request_does_not_consume_its_key(api: Api) -> None:
    def body(amount: str) -> dict[str, object]:
        return {
            "kind": "transfer",
            "postings": [
                {
                    "source": "user:alice:usd",
                    "destination": "user:bob:usd",
                    "asset": "USD",
                    "amount": amount,
                }
            ],
        }

    headers = {**bearer(api.writer), "Idempotency-Key": "retry-me"}
    broke = api.client.post("/v1/entries", json=body("500"), headers=headers)
    assert broke.status_code == 409 and broke.json()["type"].endswith("/insufficient-funds")
    assert broke.json()["account_id"] == "user:alice:usd"
    fine = api.client.post("/v1/entries", json=body("5"), headers=headers)
    assert fine.status_code == 201


def test_unknown_account_and_asset_mismatch_are_422(api: Api) -> None:
    api.open("user:alice:azr", asset="AZR")
    for destination, code in (
        ("user:nobody:usd", "unknown-account"),
        ("user:alice:azr", "asset-mismatch"),
    ):
        body = {
            "kind": "transfer",
            "postings": [
                {
                    "source": "user:alice:usd",
                    "destination": destination,
                    "asset": "USD",
                    "amount": "1",
                }
            ],
        }
        got = api.client.post(
            "/v1/entries", json=body, headers={**ADMIN, "Idempotency-Key": f"k-{code}"}
        )
        assert got.status_code == 422, got.text
        assert got.json()["type"] == f"https://azora.dev/problems/{code}"


def test_holds_post_void_and_repeat(api: Api) -> None:
    hold = api.move("user:alice:usd", "user:bob:usd", "30", "hold-1", pending=True)
    assert hold["status"] == "pending" and hold["type"] == "pending"
    alice = api.client.get("/v1/accounts/user:alice:usd", headers=ADMIN).json()
    assert (alice["balance"], alice["pending_out"], alice["available"]) == (
        "100.00",
        "30.00",
        "70.00",
    )
    posted = api.client.post(f"/v1/entries/{hold['id']}/post", headers=bearer(api.writer))
    assert posted.status_code == 200 and posted.json()["status"] == "posted"
    repeat = api.client.post(f"/v1/entries/{hold['id']}/post", headers=bearer(api.writer))
    assert repeat.status_code == 200 and repeat.json() == posted.json()
    void = api.client.post(f"/v1/entries/{hold['id']}/void", headers=bearer(api.writer))
    assert void.status_code == 409 and void.json()["type"].endswith("/hold-not-pending")
    got = api.client.get(f"/v1/entries/{hold['id']}", headers=ADMIN).json()
    assert got["status"] == "posted"
    # Replaying the hold's creation answers with the original body: status "pending".
    again = api.move("user:alice:usd", "user:bob:usd", "30", "hold-1", pending=True)
    assert again == hold

    other = api.move("user:alice:usd", "user:bob:usd", "10", "hold-2", pending=True)
    voided = api.client.post(f"/v1/entries/{other['id']}/void", headers=ADMIN)
    assert voided.json()["status"] == "voided"
    missing = api.client.post("/v1/entries/nope/post", headers=ADMIN)
    assert missing.status_code == 404


def test_history_pages_with_a_cursor(api: Api) -> None:
    for i in range(5):
        api.move("user:alice:usd", "user:bob:usd", f"1.0{i}", f"h-{i}")
    seen: list[dict[str, object]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get(
            "/v1/accounts/user:alice:usd/entries", params=params, headers=bearer(api.alice)
        ).json()
        seen += page["data"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 6
    seqs = [int(str(s["seq"])) for s in seen]
    assert seqs == sorted(seqs, reverse=True)
    newest = seen[0]
    assert newest["amount"] == "-1.04" and newest["kind"] == "transfer"
    assert set(newest) == {"entry_id", "seq", "kind", "amount", "balance_after", "effective_at"}
    assert seen[-1]["amount"] == "100.00" and seen[-1]["balance_after"] == "100.00"
    assert newest["balance_after"] == "94.90"
    too_many = api.client.get("/v1/accounts/user:alice:usd/entries?limit=501", headers=ADMIN)
    assert too_many.status_code == 422
    bad_cursor = api.client.get("/v1/accounts/user:alice:usd/entries?cursor=x", headers=ADMIN)
    assert bad_cursor.status_code == 422


def test_batch_has_one_result_per_entry(api: Api) -> None:
    def item(key: str, amount: str, dest: str = "user:bob:usd") -> dict[str, object]:
        return {
            "idempotency_key": key,
            "kind": "transfer",
            "postings": [
                {"source": "user:alice:usd", "destination": dest, "asset": "USD", "amount": amount}
            ],
        }

    batch = {
        "entries": [
            item("b-1", "10"),
            item("b-2", "1000"),
            item("b-3", "1.001"),
            item("b-4", "1", "user:ghost:usd"),
            item("b-1", "10"),
            item("b-5", "5"),
        ]
    }
    got = api.client.post("/v1/entries/batch", json=batch, headers=bearer(api.writer))
    assert got.status_code == 200, got.text
    results = got.json()["results"]
    assert [r["status"] for r in results] == [201, 409, 422, 422, 201, 201]
    assert [r["index"] for r in results] == list(range(6))
    assert results[1]["problem"]["type"].endswith("/insufficient-funds")
    assert results[2]["problem"]["type"].endswith("/invalid-amount")
    assert results[3]["problem"]["type"].endswith("/unknown-account")
    assert results[4]["replayed"] and results[4]["entry"] == results[0]["entry"]
    # The batch shares keys with single requests.
    single = api.client.post(
        "/v1/entries",
        json={k: v for k, v in item("b-5", "5").items() if k != "idempotency_key"},
        headers={**bearer(api.writer), "Idempotency-Key": "b-5"},
    )
    assert single.status_code == 201 and single.json() == results[5]["entry"]
    alice = api.client.get("/v1/accounts/user:alice:usd", headers=ADMIN).json()
    assert alice["balance"] == "85.00"


def test_batch_is_bounded(api: Api) -> None:
    item = {
        "idempotency_key": "x",
        "kind": "t",
        "postings": [
            {
                "source": "user:alice:usd",
                "destination": "user:bob:usd",
                "asset": "USD",
                "amount": "1",
            }
        ],
    }
    too_big = api.client.post("/v1/entries/batch", json={"entries": [item] * 1001}, headers=ADMIN)
    assert too_big.status_code == 422
    empty = api.client.post("/v1/entries/batch", json={"entries": []}, headers=ADMIN)
    assert empty.status_code == 422


def test_user_token_sees_own_entries_only(api: Api) -> None:
    mine = api.move("user:alice:usd", "user:bob:usd", "1", "u-1")
    api.open("user:carol:usd")
    theirs = api.move("world:card", "user:carol:usd", "1", "u-2")
    assert api.client.get(f"/v1/entries/{mine['id']}", headers=bearer(api.alice)).status_code == 200
    assert api.client.get(f"/v1/entries/{mine['id']}", headers=bearer(api.bob)).status_code == 200
    hidden = api.client.get(f"/v1/entries/{theirs['id']}", headers=bearer(api.alice))
    missing = api.client.get("/v1/entries/does-not-exist", headers=bearer(api.alice))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["type"] == missing.json()["type"]


def test_health_and_docs_are_public(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").json()["database"] == "ok"
    assert api.client.get("/docs").status_code == 200
    spec = api.client.get("/openapi.json").json()
    for path in (
        "/v1/accounts",
        "/v1/accounts/{account_id}",
        "/v1/accounts/{account_id}/entries",
        "/v1/entries",
        "/v1/entries/batch",
        "/v1/entries/{entry_id}",
        "/v1/entries/{entry_id}/post",
        "/v1/entries/{entry_id}/void",
    ):
        assert path in spec["paths"], path
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()


def test_metrics_are_public_prometheus_text(api: Api) -> None:
    response = api.client.get("/metrics", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {
        line.split(" ")[0].split("{")[0]
        for line in response.text.splitlines()
        if line and not line.startswith("#")
    }
    assert {"azora_journal_seq", "azora_token_log_size", "azora_anchored_tree_size"} <= names
