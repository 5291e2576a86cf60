"""The client against a live server: every endpoint family, typed results, replays."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from azora_client import (
    AccountExists,
    AzoraClient,
    CapReached,
    IdempotencyConflict,
    InsufficientFunds,
    MissingIdempotencyKey,
    NewEntry,
    NotAnchored,
    NotFound,
    Posting,
    Unauthorized,
)
from conftest import Live


@pytest.fixture(scope="module")
def azora(live: Live) -> AzoraClient:
    return AzoraClient(live.url, live.admin_key)


@pytest.fixture
def tag() -> str:
    """A fresh name per test, so tests share one server without seeing each other."""
    return uuid.uuid4().hex[:10]


def _fund(azora: AzoraClient, tag: str, amount: str = "100") -> tuple[str, str]:
    world, alice, bob = f"world:{tag}", f"user:{tag}a:usd", f"user:{tag}b:usd"
    azora.create_account(world, "USD", allow_negative=True)
    azora.create_account(alice, "USD")
    azora.create_account(bob, "USD")
    azora.post_entry("deposit.card", [Posting(world, alice, "USD", amount)])
    return alice, bob


def test_accounts_entries_history_and_lists(azora: AzoraClient, tag: str) -> None:
    alice, bob = _fund(azora, tag)
    assert azora.create_account(alice, "USD").balance == "100.00"  # identical: as is
    with pytest.raises(AccountExists):
        azora.create_account(alice, "AZR")
    paid = azora.post_entry(
        "transfer.p2p", [Posting(alice, bob, "USD", "25.50")], metadata={"n": 1}
    )
    assert paid.seq > 0 and paid.status == "posted" and paid.effective_at.tzinfo is not None
    again = azora.post_entry("transfer.p2p", [Posting(alice, bob, "USD", "25.50")],
                             metadata={"n": 1}, idempotency_key=paid.idempotency_key)  # fmt: skip
    assert again.replayed and again.id == paid.id
    with pytest.raises(IdempotencyConflict):
        azora.post_entry("transfer.p2p", [Posting(alice, bob, "USD", "1")],
                         idempotency_key=paid.idempotency_key)  # fmt: skip
    with pytest.raises(InsufficientFunds) as refused:
        azora.post_entry("transfer.p2p", [Posting(bob, alice, "USD", "1000")])
    assert refused.value.request_id
    assert azora.get_account(alice).available == "74.50"
    lines = list(azora.iter_history(alice, page_size=1))
    assert [line.amount for line in lines] == ["-25.50", "100.00"]
    listed = list(azora.iter_accounts(prefix=f"user:{tag}", page_size=1))
    assert [a.id for a in listed] == [alice, bob]
    entries = list(azora.iter_entries(account=bob, kinds=["transfer.*"], page_size=1))
    assert [e.id for e in entries] == [paid.id]
    recent = azora.list_entries(account=alice, since=datetime.now(UTC) - timedelta(hours=1))
    assert {e.id for e in recent.data} >= {paid.id}


def test_batch_and_holds(azora: AzoraClient, tag: str) -> None:
    alice, bob = _fund(azora, tag)
    ok = NewEntry("transfer", [Posting(alice, bob, "USD", "3")])
    bad = NewEntry("transfer", [Posting(alice, f"user:{tag}z:usd", "USD", "3")])
    first, second = azora.post_entries([ok, bad])
    assert first.entry is not None and first.status == 201
    assert second.error is not None and second.error.code == "unknown-account"
    replay, _ = azora.post_entries([ok, bad])  # a retried batch posts nothing twice
    assert replay.entry is not None and replay.entry.replayed and replay.entry.id == first.entry.id
    hold = azora.post_entry("reserve", [Posting(alice, bob, "USD", "7")], pending=True)
    assert azora.get_account(alice).pending_out == "7.00"
    posted = azora.post_hold(hold.id)
    assert posted.status == "posted" and posted.resolution is not None
    assert azora.post_hold(hold.id).status == "posted"  # a repeat: the current state
    assert azora.get_account(bob).balance == "10.00"


def test_rewards_leaderboards_and_redemptions(azora: AzoraClient, tag: str) -> None:
    event = f"lesson.{tag}"
    rule = azora.put_reward_rule(event, "10", daily_cap="20")
    assert rule.amount.startswith("10.") and rule.daily_cap is not None
    user = f"{tag}u"
    earned = azora.reward_event(f"{tag}-1", user, event)
    assert earned.amount.startswith("10.") and not earned.replayed
    assert azora.reward_event(f"{tag}-1", user, event).replayed
    azora.reward_event(f"{tag}-2", user, event)
    with pytest.raises(CapReached):
        azora.reward_event(f"{tag}-3", user, event)
    wallet = azora.wallet(user)
    assert wallet.balance.startswith("20.")
    history = azora.reward_history(user, limit=1)
    assert len(history.data) == 1 and history.next_cursor is not None
    board = azora.leaderboard("global", window="all", user_id=user)
    assert board.me is not None and board.me.user_id == user and board.window_start
    azora.join_class(f"c-{tag}", user)
    assert azora.leaderboard(f"class:c-{tag}").entries[0].user_id == user
    assert not azora.befriend(user, f"{tag}f").mutual
    item = azora.add_catalog_item(f"tee-{tag}", "T-shirt", "merchandise", "5", stock=1)
    assert any(i.id == item.id for i in azora.catalog())
    address = {"name": "Ada", "line1": "1 Main St", "city": "Oslo", "postal_code": "0150",
               "country": "NO"}  # fmt: skip
    made = azora.redeem(user, item.id, shipping_address=address)
    assert made.price.startswith("5.") and made.hold_entry_id
    assert azora.get_redemption(user, made.id).id == made.id
    assert [r.id for r in azora.redemptions(user).data] == [made.id]
    assert azora.cancel_redemption(user, made.id).status in ("canceled", "cancelled")
    spent = azora.spend(user, "1")
    assert spent.amount and spent.entry_id


def test_proofs_and_public_routes(live: Live, azora: AzoraClient, tag: str) -> None:
    public = AzoraClient(live.url)
    page = public.anchors(limit=5)
    assert isinstance(page.data, tuple)
    user = f"{tag}p"
    event = f"quiz.{tag}"
    azora.put_reward_rule(event, "1")
    earned = azora.reward_event(f"{tag}-p", user, event)
    with pytest.raises((NotAnchored, NotFound)) as refused:  # anchoring is off here
        azora.entry_proof(earned.entry_id)
    assert refused.value.status in (404, 409, 503)
    with pytest.raises(Unauthorized):
        public.get_account(f"user:{user}:azr")


def test_concurrent_retries_of_one_request_post_once(
    live: Live, azora: AzoraClient, tag: str
) -> None:
    alice, bob = _fund(azora, tag)
    key = f"race-{tag}"

    def send(_: int) -> str:
        return azora.post_entry(
            "transfer", [Posting(alice, bob, "USD", "1")], idempotency_key=key
        ).id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(send, range(16)))
    assert len(ids) == 1 and azora.get_account(bob).balance == "1.00"


def test_a_raw_post_without_key_is_refused(live: Live, tag: str) -> None:
    got = httpx.post(
        f"{live.url}/v1/entries", json={}, headers={"Authorization": f"Bearer {live.admin_key}"}
    )
    assert got.status_code == 400 and got.json()["type"].endswith("missing-idempotency-key")
    assert MissingIdempotencyKey.__name__ in dir(__import__("azora_client"))
