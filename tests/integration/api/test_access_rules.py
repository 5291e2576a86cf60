"""Access rules found broken from outside, each refused now: a revoked key kept alive by
traffic, user accounts that may go negative, a domain's hold resolved behind its back, and
a mistyped key answered with a JWT parser's words."""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.api.conftest import ADMIN, Api, bearer, make_client

pytestmark = pytest.mark.integration

TTL_S = 0.4


def test_a_revoked_key_stops_in_every_process_within_the_ttl(pg_url: str) -> None:
    """Two apps over one database (two processes' caches); the key is used without pause in
    the first while the second revokes it: the first refuses it within the TTL."""
    with make_client(pg_url, key_cache_ttl_s=TTL_S) as one, make_client(pg_url) as other:
        made = other.post("/v1/admin/api-keys", json={"scopes": ["ledger:read"]}, headers=ADMIN)
        key_id, key = made.json()["id"], made.json()["key"]
        headers = bearer(key)
        assert one.get("/v1/admin/api-keys", headers=headers).status_code == 403  # cached now
        stop = threading.Event()
        refused_at: list[float] = []

        def keep_using() -> None:
            while not stop.is_set():
                if one.get("/v1/accounts/world:card", headers=headers).status_code == 401:
                    refused_at.append(time.monotonic())
                    return
                time.sleep(0.01)

        user = threading.Thread(target=keep_using)
        user.start()
        time.sleep(0.2)
        other.post(f"/v1/admin/api-keys/{key_id}/revoke", headers=ADMIN)
        revoked_at = time.monotonic()
        user.join(timeout=TTL_S * 10)
        stop.set()
        assert refused_at, "the revoked key kept working under constant use"
        assert refused_at[0] - revoked_at <= TTL_S + 0.5


def test_a_mistyped_key_is_told_what_it_is(api: Api) -> None:
    for garbage in ("azora_abc", "azora_abc_tooshort", "not-a-token-at-all", "abc.def"):
        refused = api.client.get("/v1/accounts/world:card", headers=bearer(garbage))
        assert refused.status_code == 401
        detail = refused.json()["detail"]
        assert "segments" not in detail.lower()
        assert "API key" in detail


def test_user_accounts_never_go_negative(api: Api) -> None:
    for account_id in ("user:dave:azr", "user:dave:usd", "instructor:dave:available", "bank"):
        body = {"id": account_id, "asset": "USD", "allow_negative": True}
        refused = api.client.post("/v1/accounts", json=body, headers=ADMIN)
        assert refused.status_code == 422, refused.text
    wrong_asset = {"id": "user:dave:azr", "asset": "USD"}
    assert api.client.post("/v1/accounts", json=wrong_asset, headers=ADMIN).status_code == 422
    for account_id in ("world:bank", "platform:fees", "system:suspense"):
        body = {"id": account_id, "asset": "USD", "allow_negative": True}
        assert api.client.post("/v1/accounts", json=body, headers=ADMIN).status_code == 201
    assert api.client.get("/v1/accounts/user:dave:azr", headers=ADMIN).status_code == 404


def test_an_account_opened_first_through_the_api_does_not_wedge_the_user(api: Api) -> None:
    body = {"id": "user:erin:azr", "asset": "AZR", "metadata": {"opened_by": "crm"}}
    assert api.client.post("/v1/accounts", json=body, headers=ADMIN).status_code == 201
    event = {"event_id": "erin-1", "user_id": "erin", "type": "lesson.completed"}
    earned = api.client.post("/v1/rewards/events", json=event, headers=ADMIN)
    assert earned.status_code == 201, earned.text
    wallet = api.client.get("/v1/users/erin/rewards", headers=ADMIN).json()
    assert wallet["balance"] == earned.json()["amount"]


def test_a_redemptions_hold_is_resolved_only_through_the_redemption(api: Api) -> None:
    item = {"id": "sticker", "name": "Sticker", "type": "merchandise", "price": "1"}
    assert api.client.post("/v1/rewards/catalog", json=item, headers=ADMIN).status_code == 201
    for n in range(2):
        event = {"event_id": f"fay-{n}", "user_id": "fay", "type": "lesson.completed"}
        assert api.client.post("/v1/rewards/events", json=event, headers=ADMIN).status_code == 201
    address = {"name": "Fay", "line1": "1 St", "city": "X", "postal_code": "1", "country": "NG"}
    asked = api.client.post(
        "/v1/users/fay/redemptions",
        json={"item_id": "sticker", "shipping_address": address},
        headers={**ADMIN, "Idempotency-Key": "fay-sticker"},
    )
    assert asked.status_code == 201, asked.text
    hold_id = asked.json()["hold_entry_id"]
    writer = bearer(api.writer)
    for action in ("void", "post"):
        refused = api.client.post(f"/v1/entries/{hold_id}/{action}", headers=writer)
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("/hold-owned-by-domain")
    redemption = api.client.get(f"/v1/users/fay/redemptions/{asked.json()['id']}", headers=ADMIN)
    assert redemption.json()["status"] == "held"
    assert api.client.get(f"/v1/entries/{hold_id}", headers=ADMIN).json()["status"] == "pending"
