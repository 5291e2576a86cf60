"""The billing and payments routes over HTTP (the app in-process, PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.api.conftest import ADMIN, bearer, make_client

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration
SECRETS = ("whsec_new", "whsec_old")
PROBLEM = "https://azora.dev/problems/"


@pytest.fixture
def client(pg_url: str) -> Iterator[TestClient]:
    with make_client(pg_url, stripe_webhook_secret=",".join(SECRETS)) as c:
        yield c


def _token(client: TestClient, user: str) -> dict[str, str]:
    made = client.post("/v1/admin/tokens", json={"user_id": user}, headers=ADMIN)
    assert made.status_code == 201, made.text
    return bearer(made.json()["token"])


def _key(client: TestClient, scopes: list[str]) -> dict[str, str]:
    made = client.post("/v1/admin/api-keys", json={"scopes": scopes}, headers=ADMIN)
    assert made.status_code == 201, made.text
    return bearer(made.json()["key"])


def _subscribe(
    client: TestClient, user: str, who: dict[str, str], plan: str, method: str, key: str
) -> Any:
    return client.post(
        f"/v1/users/{user}/subscription",
        json={"plan": plan, "payment_method": method},
        headers={**who, "Idempotency-Key": key},
    )


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == PROBLEM + code
    assert "Traceback" not in response.text and "psycopg" not in response.text


def test_plans_are_public_with_every_feature(client: TestClient) -> None:
    answer = client.get("/v1/plans")
    assert answer.status_code == 200
    plans = answer.json()["data"]
    assert [(p["id"], p["price"], p["currency"], p["interval"]) for p in plans] == [
        ("free", "0.00", "USD", "month"), ("pro", "9.99", "USD", "month"),
        ("enterprise", "99.00", "USD", "month"),
    ]  # fmt: skip
    keys = {f["key"] for f in answer.json()["features"]}
    assert len(keys) >= 20
    assert all(set(p["features"]) == keys for p in plans)
    assert plans[0]["features"]["paid_course_publishing"] is False
    assert plans[2]["features"]["courses_in_progress"] is None  # unlimited


def test_subscribe_read_features_cancel_resume(client: TestClient) -> None:
    alice = _token(client, "alice")
    got = client.get("/v1/users/alice/subscription", headers=alice).json()
    assert (got["plan"], got["status"], got["current_period_end"]) == ("free", "active", None)
    made = _subscribe(client, "alice", alice, "pro", "pm_card_visa", "s-1")
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["plan"] == "pro" and body["charge"]["amount"] == "9.99"
    again = _subscribe(client, "alice", alice, "pro", "pm_card_visa", "s-1")
    assert again.json() == body and again.headers["Idempotent-Replayed"] == "true"
    _problem(_subscribe(client, "alice", alice, "enterprise", "pm_card_visa", "s-1"), 409,
             "idempotency-conflict")  # fmt: skip
    feature = client.get("/v1/users/alice/features/paid_course_publishing", headers=alice)
    assert feature.json() == {"feature": "paid_course_publishing", "value": True, "plan": "pro"}
    entry = client.get(f"/v1/entries/{body['charge']['entry_id']}", headers=ADMIN).json()
    assert entry["kind"] == "subscription.charge"
    canceled = client.post("/v1/users/alice/subscription/cancel", headers=alice).json()
    assert canceled["cancel_at_period_end"] is True and canceled["plan"] == "pro"
    resumed = client.post("/v1/users/alice/subscription/resume", headers=alice).json()
    assert resumed["cancel_at_period_end"] is False


def test_declined_and_unavailable_change_nothing(client: TestClient) -> None:
    bob = _token(client, "bob")
    _problem(_subscribe(client, "bob", bob, "pro", "pm_card_chargeDeclined", "d"), 402,
             "payment-declined")  # fmt: skip
    _problem(_subscribe(client, "bob", bob, "pro", "pm_card_unavailable", "u"), 503,
             "payment-provider-unavailable")  # fmt: skip
    assert client.get("/v1/users/bob/subscription", headers=bob).json()["plan"] == "free"
    ok = _subscribe(client, "bob", bob, "pro", "pm_card_visa", "u")  # a 503 keeps its key free
    assert ok.status_code == 200 and ok.json()["charge"]["amount"] == "9.99"


def test_a_user_reaches_only_their_own_routes_and_admins_any(client: TestClient) -> None:
    alice, bob = _token(client, "alice"), _token(client, "bob")
    reader = _key(client, ["ledger:read"])
    routes = [
        ("GET", "/v1/users/alice/subscription", None),
        ("POST", "/v1/users/alice/subscription", {"plan": "pro", "payment_method": "pm_card_visa"}),
        ("POST", "/v1/users/alice/subscription/cancel", None),
        ("POST", "/v1/users/alice/subscription/resume", None),
        ("GET", "/v1/users/alice/features/sso", None),
    ]
    for method, path, body in routes:
        for who in (bob, reader):
            answer = client.request(method, path, json=body,
                                    headers={**who, "Idempotency-Key": "x"})  # fmt: skip
            _problem(answer, 404, "not-found")
        _problem(client.request(method, path, json=body), 401, "unauthorized")
    assert client.get("/v1/users/alice/subscription", headers=alice).status_code == 200
    assert client.get("/v1/users/bob/features/sso", headers=ADMIN).json()["value"] is False
    made = _subscribe(client, "carol", ADMIN, "enterprise", "pm_card_visa", "admin-1")
    assert made.status_code == 200 and made.json()["plan"] == "enterprise"
    _problem(client.get("/v1/metrics/business?month=2030-01", headers=alice), 404, "not-found")
    _problem(client.get("/v1/metrics/business?month=2030-01", headers=reader), 403, "forbidden")


HOSTILE_BODIES: list[Any] = [
    {"plan": "pro\u0000", "payment_method": "pm_card_visa"},
    {"plan": "pro", "payment_method": "pm_card_visa\u0000"},
    {"plan": "\ud800", "payment_method": "pm_card_visa"},
    {"plan": "pro", "payment_method": "\ud800"},
    {"plan": 1, "payment_method": "pm_card_visa"},
    {"plan": "pro", "payment_method": "pm_card_visa", "price": "0.01"},
    {"plan": "platinum", "payment_method": "pm_card_visa"},
    {"plan": "pro"},
    [],
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_subscription_bodies_are_4xx_and_change_nothing(
    client: TestClient, body: Any
) -> None:
    raw = json.dumps(body).encode()  # lone surrogates travel as JSON escapes
    answer = client.post(
        "/v1/users/alice/subscription", content=raw,
        headers={**ADMIN, "Idempotency-Key": "h", "Content-Type": "application/json"},
    )  # fmt: skip
    assert 400 <= answer.status_code < 500, answer.text
    assert "Traceback" not in answer.text
    assert client.get("/v1/users/alice/subscription", headers=ADMIN).json()["plan"] == "free"


@pytest.mark.parametrize(
    "path",
    ["/v1/users/al%00ice/subscription", "/v1/users/%ED%A0%80/subscription",
     "/v1/users/ALICE/subscription", "/v1/users/" + "a" * 65 + "/subscription",
     "/v1/users/alice/features/%00", "/v1/users/alice/features/no_such_feature",
     "/v1/users/alice/features/SSO", "/v1/users/alice/features/" + "x" * 70,
     "/v1/metrics/business?month=9999-12", "/v1/metrics/business?month=2030-13",
     "/v1/metrics/business?month=2030-1", "/v1/metrics/business?month=2030-01%00",
     "/v1/metrics/business?month=%ED%A0%80", "/v1/metrics/business"],
)  # fmt: skip
def test_hostile_paths_are_4xx(client: TestClient, path: str) -> None:
    answer = client.get(path, headers=ADMIN)
    assert 400 <= answer.status_code < 500, (path, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_hostile_idempotency_key_is_400(client: TestClient) -> None:
    for key in ("", "a b", "k\u0000".encode("latin-1").decode(), "x" * 129):
        answer = client.post(
            "/v1/users/alice/subscription",
            json={"plan": "pro", "payment_method": "pm_card_visa"},
            headers={**ADMIN, "Idempotency-Key": key},
        )
        assert answer.status_code == 400, (key, answer.text)


def test_business_metrics_for_admins(client: TestClient) -> None:
    _subscribe(client, "dave", ADMIN, "pro", "pm_card_visa", "m-1")
    month = time.strftime("%Y-%m", time.gmtime())
    answer = client.get(f"/v1/metrics/business?month={month}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["month"], body["mrr"], body["paying_customers"]) == (month, "9.99", 1)
    assert body["payment_success_rate"] == "1.0000" and body["churn_rate"] is None
    assert body["marketplace_gross"] == "0.00" and body["subscription_revenue"] == "9.99"
    assert body["targets"]["mrr"] == "10000.00" and body["targets_met"]["mrr"] is False


# --- the Stripe webhook ----------------------------------------------------------------


def _signed(
    event: dict[str, Any], secret: str = SECRETS[0], t: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, separators=(",", ":")).encode()
    t = int(time.time()) if t is None else t
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


def _invoice(event_id: str, user: str, amount: int = 999) -> dict[str, Any]:
    now = int(time.time())
    return {
        "id": event_id, "type": "invoice.paid",
        "data": {"object": {
            "id": f"in_{event_id}", "amount_paid": amount,
            "metadata": {"azora_user_id": user, "azora_plan": "pro"},
            "lines": {"data": [{"period": {"start": now, "end": now + 30 * 86400}}]},
        }},
    }  # fmt: skip


def _revenue(client: TestClient) -> str:
    answer = client.get("/v1/accounts/platform:revenue:subscriptions", headers=ADMIN)
    return str(answer.json()["balance"]) if answer.status_code == 200 else "0.00"


def test_invoice_paid_records_once_and_renews(client: TestClient) -> None:
    body, headers = _signed(_invoice("evt_1", "erin"))
    first = client.post("/v1/payments/webhooks/stripe", content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    again = client.post("/v1/payments/webhooks/stripe", content=body, headers=headers)
    assert again.json() == {"received": True, "duplicate": True}
    assert _revenue(client) == "9.99"  # one entry for the event
    sub = client.get("/v1/users/erin/subscription", headers=ADMIN).json()
    assert (sub["plan"], sub["status"]) == ("pro", "active")
    deleted = {"id": "evt_2", "type": "customer.subscription.deleted",
               "data": {"object": {"metadata": {"azora_user_id": "erin"}}}}  # fmt: skip
    body, headers = _signed(deleted, SECRETS[1])
    assert client.post("/v1/payments/webhooks/stripe", content=body, headers=headers).json() == {
        "received": True, "duplicate": False,
    }  # fmt: skip
    sub = client.get("/v1/users/erin/subscription", headers=ADMIN).json()
    assert (sub["plan"], sub["status"]) == ("free", "canceled")


def test_refused_deliveries_record_nothing(client: TestClient) -> None:
    event = _invoice("evt_bad", "fay")
    body, headers = _signed(event)
    reserialized = json.dumps(event, indent=1).encode()
    cases = [
        (body.replace(b"999", b"998"), headers),
        (body, _signed(event, "whsec_wrong")[1]),
        (body, _signed(event, t=int(time.time()) - 301)[1]),
        (body, {"Stripe-Signature": f"t={int(time.time())}"}),
        (reserialized, headers),
        (body, {}),
        (b"\x00\xff", headers),
    ]
    for payload, sig in cases:
        answer = client.post("/v1/payments/webhooks/stripe", content=payload, headers=sig)
        _problem(answer, 400, "webhook-signature-invalid")
    assert _revenue(client) == "0.00"
    # The same event, properly signed, is still new: nothing refused was recorded.
    ok = client.post("/v1/payments/webhooks/stripe", content=body, headers=headers)
    assert ok.json() == {"received": True, "duplicate": False}


def test_unhandled_types_are_acknowledged_and_refunds_move_money_back(
    client: TestClient,
) -> None:
    body, headers = _signed({"id": "evt_x", "type": "customer.created", "data": {}})
    assert client.post("/v1/payments/webhooks/stripe", content=body, headers=headers).json() == {
        "received": True, "duplicate": False,
    }  # fmt: skip
    made = _subscribe(client, "gus", ADMIN, "pro", "pm_card_visa", "r-1").json()
    entry = client.get(f"/v1/entries/{made['charge']['entry_id']}", headers=ADMIN).json()
    charge_id = entry["metadata"]["charge_id"]
    refund = {"id": "evt_r", "type": "charge.refunded",
              "data": {"object": {"id": "ch_x", "payment_intent": charge_id,
                                  "amount_refunded": 500}}}  # fmt: skip
    body, headers = _signed(refund)
    for _ in range(2):
        client.post("/v1/payments/webhooks/stripe", content=body, headers=headers)
    assert _revenue(client) == "4.99"  # 9.99 - 5.00, once
    history = client.get(
        "/v1/accounts/platform:revenue:subscriptions/entries", headers=ADMIN
    ).json()["data"]
    assert history[0]["kind"] == "subscription.refund" and history[0]["amount"] == "-5.00"
