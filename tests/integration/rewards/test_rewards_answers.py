"""What the rewards routes answer (PostgreSQL, in-process app): a redemption in the state it
has when the answer is sent, and one unit for every amount, metadata included."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api.conftest import ADMIN, bearer, make_client

pytestmark = pytest.mark.integration

ADDRESS = {"name": "Ada", "line1": "1 St", "city": "Lagos", "postal_code": "1", "country": "NG"}
AZR_TEXT = re.compile(r"^(0|[1-9][0-9]*)\.[0-9]{18}$")
ITEMS = (
    {
        "id": "pro-7d",
        "name": "Pro",
        "type": "feature_unlock",
        "price": "5",
        "metadata": {"days": 7},
    },
    {"id": "course-py", "name": "Python", "type": "course_content", "price": "5"},
    {"id": "tee", "name": "T-shirt", "type": "merchandise", "price": "5"},
    {"id": "azr-5", "name": "Withdraw 5", "type": "onchain_withdrawal", "price": "5"},
)


@pytest.fixture
def client(pg_url: str) -> Iterator[TestClient]:
    with make_client(pg_url) as made:
        for item in ITEMS:
            assert made.post("/v1/rewards/catalog", json=item, headers=ADMIN).status_code == 201
        for n in range(6):  # 30 AZR
            event = {"event_id": f"ada-{n}", "user_id": "ada", "type": "lesson.completed"}
            assert made.post("/v1/rewards/events", json=event, headers=ADMIN).status_code == 201
        yield made


def _redeem(client: TestClient, user: dict[str, str], key: str, **body: Any) -> Any:
    answer = client.post(
        "/v1/users/ada/redemptions", json=body, headers={**user, "Idempotency-Key": key}
    )
    assert answer.status_code == 201, answer.text
    return answer


def test_the_answer_is_the_state_when_it_is_sent(client: TestClient) -> None:
    user = bearer(
        client.post("/v1/admin/tokens", json={"user_id": "ada"}, headers=ADMIN).json()["token"]
    )
    for item_id in ("pro-7d", "course-py"):
        answer = _redeem(client, user, f"k-{item_id}", item_id=item_id).json()
        assert answer["status"] == "fulfilled", answer
        shown = client.get(f"/v1/users/ada/redemptions/{answer['id']}", headers=user).json()
        assert shown == answer  # nothing happened after the answer
    again = _redeem(client, user, "k-pro-7d", item_id="pro-7d")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["status"] == "fulfilled"
    wallet = client.get("/v1/users/ada/rewards", headers=user).json()
    assert sorted(e["item_id"] for e in wallet["entitlements"]) == ["course-py", "pro-7d"]
    assert wallet["balance"] == wallet["available"] == "20.000000000000000000"
    tee = _redeem(client, user, "k-tee", item_id="tee", shipping_address=ADDRESS).json()
    assert tee["status"] == "held"  # an admin fulfils it
    # A withdrawal mints after the answer (here no chain is configured: it then fails and
    # the tokens come back); the answer says held, as it was when sent.
    out = _redeem(client, user, "k-azr", item_id="azr-5", eth_address="0x" + "ab" * 20).json()
    assert out["status"] == "held"
    later = client.get(f"/v1/users/ada/redemptions/{out['id']}", headers=user).json()
    assert later["status"] == "failed"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for nested in value.values():
            yield from _strings(nested)
    elif isinstance(value, list):
        for nested in value:
            yield from _strings(nested)


def test_history_shows_every_amount_in_whole_azr(client: TestClient) -> None:
    history = client.get("/v1/users/ada/rewards/history", headers=ADMIN).json()["data"]
    assert len(history) == 6
    for line in history:
        rule = line["metadata"]["rule"]
        assert rule == {"amount": "5.000000000000000000", "daily_cap": "50.000000000000000000"}
        assert AZR_TEXT.fullmatch(line["amount"]) and AZR_TEXT.fullmatch(line["balance_after"])
        # No base units anywhere: a bare integer of 19+ digits would be one.
        assert not [s for s in _strings(line) if re.fullmatch(r"[0-9]{19,}", s)], line
    rule = {"amount": "1.5", "daily_cap": None}
    put = client.put("/v1/rewards/rules/video.watched", json=rule, headers=ADMIN)
    assert put.status_code == 200, put.text
    event = {"event_id": "ada-video", "user_id": "ada", "type": "video.watched"}
    assert client.post("/v1/rewards/events", json=event, headers=ADMIN).status_code == 201
    newest = client.get("/v1/users/ada/rewards/history", headers=ADMIN, params={"limit": 1})
    line = newest.json()["data"][0]
    assert line["metadata"]["rule"] == {"amount": "1.500000000000000000", "daily_cap": None}
    assert line["amount"] == "1.500000000000000000"
