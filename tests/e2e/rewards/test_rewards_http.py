"""The rewards surface over HTTP against a real server (PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.integration

ADDRESS = {
    "name": "Ada",
    "line1": "1 Main St",
    "city": "Lagos",
    "postal_code": "100001",
    "country": "NG",
}


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def post(self, path: str, body: Any, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.client.post(path, json=body, headers=headers)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params)


@pytest.fixture(scope="module")
def admin(server: LiveServer, admin_key: str) -> Api:
    return Api(server.url, admin_key)


def user(admin: Api, server: LiveServer, user_id: str) -> Api:
    token = admin.post("/v1/admin/tokens", {"user_id": user_id}).json()["token"]
    return Api(server.url, token)


def earn(
    admin: Api, event_id: str, user_id: str, type_: str = "lesson.completed"
) -> httpx.Response:
    return admin.post(
        "/v1/rewards/events", {"event_id": event_id, "user_id": user_id, "type": type_}
    )


def test_events_earn_replay_and_refuse(admin: Api) -> None:
    first = earn(admin, "e2e-1", "ada")
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == "5.000000000000000000"
    again = earn(admin, "e2e-1", "ada")
    assert again.status_code == 201 and again.json()["entry_id"] == first.json()["entry_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    unknown = earn(admin, "e2e-2", "ada", "video.watched")
    assert unknown.status_code == 422
    assert unknown.json()["type"].endswith("/unknown-event-type")
    for i in range(9):
        assert earn(admin, f"e2e-cap-{i}", "ada").status_code == 201
    capped = earn(admin, "e2e-cap-9", "ada")
    assert capped.status_code == 422 and capped.json()["type"].endswith("/cap-reached")
    assert capped.headers["content-type"].startswith("application/problem+json")
    bad = admin.post(
        "/v1/rewards/events", {"event_id": "x", "user_id": "ada", "type": "a", "amount": "5"}
    )
    assert bad.status_code == 422
    history = admin.get("/v1/users/ada/rewards/history", limit=2).json()
    assert history["data"][0]["metadata"]["event_type"] == "lesson.completed"
    assert history["next_cursor"] is not None


def test_redemptions_over_http(admin: Api, server: LiveServer) -> None:
    for item in (
        {"id": "tee", "name": "T-shirt", "type": "merchandise", "price": "10", "stock": 1},
        {
            "id": "pro-7d",
            "name": "Pro",
            "type": "feature_unlock",
            "price": "5",
            "metadata": {"days": 7},
        },
    ):
        assert admin.post("/v1/rewards/catalog", item).status_code in (200, 201)
    for i in range(4):
        earn(admin, f"bob-{i}", "bob")
    bob = user(admin, server, "bob")
    assert len(bob.get("/v1/rewards/catalog").json()["data"]) >= 2
    no_key = bob.post("/v1/users/bob/redemptions", {"item_id": "tee"})
    assert no_key.status_code == 400
    no_address = bob.post("/v1/users/bob/redemptions", {"item_id": "tee"}, key="r0")
    assert no_address.status_code == 422
    assert no_address.json()["type"].endswith("/invalid-redemption")
    held = bob.post(
        "/v1/users/bob/redemptions", {"item_id": "tee", "shipping_address": ADDRESS}, key="r1"
    )
    assert held.status_code == 201, held.text
    body = held.json()
    assert body["status"] == "held" and body["hold_entry_id"]
    assert bob.get("/v1/accounts/user:bob:azr").json()["available"] == "10.000000000000000000"
    out = bob.post(
        "/v1/users/bob/redemptions", {"item_id": "tee", "shipping_address": ADDRESS}, key="r2"
    )
    assert out.status_code == 409 and out.json()["type"].endswith("/out-of-stock")
    assert bob.post(f"/v1/users/bob/redemptions/{body['id']}/fulfil", {}).status_code == 404
    done = admin.post(f"/v1/users/bob/redemptions/{body['id']}/fulfil", {})
    assert done.status_code == 200 and done.json()["status"] == "fulfilled"
    unlock = bob.post("/v1/users/bob/redemptions", {"item_id": "pro-7d"}, key="r3").json()
    for _ in range(50):  # fulfilled right after the answer
        state = bob.get(f"/v1/users/bob/redemptions/{unlock['id']}").json()["status"]
        if state == "fulfilled":
            break
        time.sleep(0.1)
    assert state == "fulfilled"
    wallet = bob.get("/v1/users/bob/rewards").json()
    assert wallet["balance"] == "5.000000000000000000"
    assert [e["item_id"] for e in wallet["entitlements"]] == ["pro-7d"]
    poor = bob.post("/v1/users/bob/redemptions", {"item_id": "pro-7d"}, key="r4")
    poor2 = bob.post("/v1/users/bob/redemptions", {"item_id": "pro-7d"}, key="r5")
    assert poor.status_code == 201 and poor2.status_code == 409
    assert poor2.json()["type"].endswith("/insufficient-funds")
    # Others' redemptions are invisible.
    assert user(admin, server, "eve").get("/v1/users/bob/redemptions").status_code == 404


def test_leaderboards_classes_and_friends(admin: Api, server: LiveServer) -> None:
    for name, n in (("lb-a", 1), ("lb-b", 3), ("lb-c", 2)):
        for i in range(n):
            earn(admin, f"{name}-{i}", name, "quiz.passed")
        assert admin.post("/v1/classes/cls-1/members", {"user_id": name}).status_code == 201
    assert admin.post("/v1/classes/cls-1/members", {"user_id": "lb-a"}).status_code == 200
    a = user(admin, server, "lb-a")
    board = a.get("/v1/leaderboards/class:cls-1", window="week", limit=2).json()
    assert [e["user_id"] for e in board["entries"]] == ["lb-b", "lb-c"]
    assert board["me"] == {"rank": 3, "user_id": "lb-a", "score": "10.000000000000000000"}
    assert a.post("/v1/users/lb-a/friends", {"friend_id": "lb-c"}).json()["mutual"] is False
    friends = a.get("/v1/leaderboards/friends:lb-a").json()
    assert [e["user_id"] for e in friends["entries"]] == ["lb-a"]
    c = user(admin, server, "lb-c")
    assert c.post("/v1/users/lb-c/friends", {"friend_id": "lb-a"}).json()["mutual"] is True
    friends = a.get("/v1/leaderboards/friends:lb-a").json()
    assert [e["user_id"] for e in friends["entries"]] == ["lb-c", "lb-a"]
    assert a.get("/v1/leaderboards/friends:lb-c").status_code == 404
    assert a.get("/v1/leaderboards/class:other").status_code == 404
    assert a.get("/v1/leaderboards/nope").status_code == 422
    top = admin.get("/v1/leaderboards/global", window="month", user_id="lb-a").json()
    assert top["me"]["user_id"] == "lb-a"
