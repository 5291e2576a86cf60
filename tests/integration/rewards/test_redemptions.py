"""The redemption workflow: holds, stock, concurrency, expiry, crash recovery."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, select

from ledger import HoldStatus, IdempotencyConflict, InsufficientFunds, LedgerError
from monetization.rewards import CatalogItem, ItemType, RedemptionStatus, Rewards
from monetization.rewards.errors import (
    InvalidRedemption,
    OutOfStock,
    RedemptionStateConflict,
)
from monetization.rewards.model import REDEEMED
from monetization.rewards.redemptions import REQUESTED_GRACE_S
from monetization.rewards.tables import reward_catalog, reward_redemptions
from tests.integration.ledgerkit import journal_size
from tests.integration.rewards.conftest import AZR, FakeClock, fund

ADDRESS = {
    "name": "Ada",
    "line1": "1 Main St",
    "city": "Lagos",
    "postal_code": "100001",
    "country": "NG",
}


def _items(rewards: Rewards) -> None:
    r = rewards.redemptions
    r.put_item(
        CatalogItem(
            "pro-7d", "Pro, 7 days", ItemType.FEATURE_UNLOCK, 10 * AZR, metadata={"days": 7}
        )
    )
    r.put_item(CatalogItem("course-py", "Python course", ItemType.COURSE_CONTENT, 10 * AZR))
    r.put_item(CatalogItem("tee", "T-shirt", ItemType.MERCHANDISE, 10 * AZR, stock=3))
    r.put_item(CatalogItem("azr-10", "Withdraw 10", ItemType.ONCHAIN_WITHDRAWAL, 10 * AZR))


def stock(engine: Engine, item_id: str) -> int | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(reward_catalog.c.stock).where(reward_catalog.c.id == item_id)
        ).scalar()
    return None if value is None else int(value)


def test_twenty_concurrent_redemptions_five_covered(rewards: Rewards, engine: Engine) -> None:
    _items(rewards)
    fund(rewards, "u1", 10)  # 50 AZR: five items of 10

    def redeem(i: int) -> str:
        try:
            return rewards.redemptions.request("u1", "pro-7d", f"r-{i}")[0].status.value
        except InsufficientFunds:
            return "refused"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(redeem, range(20)))
    assert outcomes.count("held") == 5 and outcomes.count("refused") == 15
    assert len(rewards.redemptions.list_for_user("u1")) == 5
    assert rewards.earnings.balance("u1") == (50 * AZR, 0)


def test_stock_never_goes_below_zero(rewards: Rewards, engine: Engine) -> None:
    _items(rewards)
    users = [f"s{i}" for i in range(10)]
    for user in users:
        fund(rewards, user, 2)

    def redeem(user: str) -> str:
        try:
            rewards.redemptions.request(user, "tee", "k", shipping_address=ADDRESS)
        except OutOfStock:
            return "out"
        return "held"

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(redeem, users))
    assert outcomes.count("held") == 3 and stock(engine, "tee") == 0
    holder = users[outcomes.index("held")]
    (held,) = rewards.redemptions.list_for_user(holder)
    cancelled = rewards.redemptions.cancel(holder, held.id)
    assert cancelled.status is RedemptionStatus.CANCELLED and stock(engine, "tee") == 1
    assert rewards.earnings.balance(holder) == (10 * AZR, 10 * AZR)
    assert rewards.redemptions.cancel(holder, held.id).status is RedemptionStatus.CANCELLED
    assert stock(engine, "tee") == 1  # a repeat restocks nothing


def test_unlock_is_fulfilled_with_an_entitlement(rewards: Rewards, clock: FakeClock) -> None:
    _items(rewards)
    fund(rewards, "u1", 4)
    held, created = rewards.redemptions.request("u1", "pro-7d", "k1")
    assert created and held.status is RedemptionStatus.HELD and held.hold_entry_id
    assert rewards.book.hold_state(held.hold_entry_id).status is HoldStatus.PENDING
    done = rewards.redemptions.process(held.id)
    assert done.status is RedemptionStatus.FULFILLED
    assert rewards.book.hold_state(held.hold_entry_id).status is HoldStatus.POSTED
    (unlock,) = rewards.redemptions.entitlements("u1")
    assert unlock.item_id == "pro-7d" and unlock.until is not None
    assert rewards.book.balance(REDEEMED).balance == 10 * AZR
    course, _ = rewards.redemptions.request("u1", "course-py", "k2")
    rewards.redemptions.process(course.id)
    assert {e.item_id for e in rewards.redemptions.entitlements("u1")} == {"pro-7d", "course-py"}
    clock.advance(days=8)
    assert [e.item_id for e in rewards.redemptions.entitlements("u1")] == ["course-py"]
    assert rewards.redemptions.process(held.id).status is RedemptionStatus.FULFILLED
    with pytest.raises(RedemptionStateConflict):
        rewards.redemptions.cancel("u1", held.id)


def test_merchandise_waits_for_an_admin(rewards: Rewards, engine: Engine) -> None:
    _items(rewards)
    fund(rewards, "u1", 6)
    size = journal_size(engine)
    with pytest.raises(InvalidRedemption):
        rewards.redemptions.request("u1", "tee", "k0")
    with pytest.raises(InvalidRedemption):
        rewards.redemptions.request("u1", "tee", "k0", shipping_address={**ADDRESS, "city": ""})
    assert journal_size(engine) == size and stock(engine, "tee") == 3
    first, _ = rewards.redemptions.request("u1", "tee", "k1", shipping_address=ADDRESS)
    assert rewards.redemptions.process(first.id).status is RedemptionStatus.HELD
    assert rewards.redemptions.fulfil(first.id).status is RedemptionStatus.FULFILLED
    with pytest.raises(RedemptionStateConflict):
        rewards.redemptions.reject(first.id, "too late")
    second, _ = rewards.redemptions.request("u1", "tee", "k2", shipping_address=ADDRESS)
    rejected = rewards.redemptions.reject(second.id, "we do not ship there")
    assert rejected.status is RedemptionStatus.REJECTED and rejected.reason
    assert rewards.earnings.balance("u1") == (20 * AZR, 20 * AZR)
    assert stock(engine, "tee") == 2


def test_requests_are_idempotent(rewards: Rewards, engine: Engine) -> None:
    _items(rewards)
    fund(rewards, "u1", 3)
    first, created = rewards.redemptions.request("u1", "tee", "k1", shipping_address=ADDRESS)
    size = journal_size(engine)
    again, created_again = rewards.redemptions.request("u1", "tee", "k1", shipping_address=ADDRESS)
    assert created and not created_again and again.id == first.id
    assert journal_size(engine) == size and stock(engine, "tee") == 2
    with pytest.raises(IdempotencyConflict):
        rewards.redemptions.request("u1", "pro-7d", "k1")
    # A refused request leaves its key free.
    with pytest.raises(InsufficientFunds):
        rewards.redemptions.request("u1", "course-py", "k2")
    fund(rewards, "u1", 2, prefix="more")
    assert rewards.redemptions.request("u1", "course-py", "k2")[1]


def test_expired_holds_return_tokens_and_stock(
    rewards: Rewards, engine: Engine, clock: FakeClock
) -> None:
    _items(rewards)
    fund(rewards, "u1", 2)
    held, _ = rewards.redemptions.request("u1", "tee", "k1", shipping_address=ADDRESS)
    clock.advance(days=15)
    (shown,) = rewards.redemptions.list_for_user("u1")
    assert shown.status is RedemptionStatus.EXPIRED
    assert rewards.earnings.balance("u1") == (10 * AZR, 10 * AZR)
    assert stock(engine, "tee") == 3
    with pytest.raises(RedemptionStateConflict):
        rewards.redemptions.fulfil(held.id)


def test_a_crash_between_row_and_hold_is_settled(
    rewards: Rewards, engine: Engine, clock: FakeClock
) -> None:
    _items(rewards)
    fund(rewards, "u1", 4)
    item = rewards.redemptions.item("tee")
    # Crash 1: the row is written, the hold never was.
    lost = rewards.redemptions._write_request("u1", item, "k1", ADDRESS, None)
    # Crash 2: the hold was posted, the row never heard of it.
    half = rewards.redemptions._write_request("u1", item, "k2", ADDRESS, None)
    rewards.book.post_hold(
        _hold_request(rewards, half), principal="rewards:redemptions", idempotency_key=half.hold_key
    )
    assert rewards.redemptions.settle() >= 0  # young rows are left to their request
    assert rewards.redemptions.get("u1", lost.id).status is RedemptionStatus.REQUESTED
    clock.advance(seconds=REQUESTED_GRACE_S + 1)
    rewards.redemptions.settle()
    for r in (lost, half):
        settled = rewards.redemptions.get("u1", r.id)
        assert settled.status is RedemptionStatus.HELD
        assert rewards.book.hold_state(settled.hold_entry_id or "").status is HoldStatus.PENDING
    assert rewards.earnings.balance("u1") == (20 * AZR, 0)
    # A requested row whose hold can no longer be covered is dropped, stock returned.
    poor = rewards.redemptions._write_request("u1", item, "k3", ADDRESS, None)
    clock.advance(seconds=REQUESTED_GRACE_S + 1)
    rewards.redemptions.settle()
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(reward_redemptions.c.id).where(reward_redemptions.c.id == poor.id)
            ).first()
            is None
        )
    assert stock(engine, "tee") == 1


def _hold_request(rewards: Rewards, r: Any) -> Any:
    from ledger import NewEntry, Posting
    from monetization.rewards.model import user_account

    return NewEntry(
        "reward.redeemed",
        (Posting(user_account(r.user_id), REDEEMED, "AZR", r.price),),
        metadata={
            "redemption_id": r.id,
            "user_id": r.user_id,
            "item_id": r.item_id,
            "item_type": r.item_type.value,
        },
        pending=True,
        expires_at=r.expires_at,
    )


def test_bad_redemption_input_writes_nothing(rewards: Rewards, engine: Engine) -> None:
    _items(rewards)
    fund(rewards, "u1", 4)
    size = journal_size(engine)
    cases: list[dict[str, Any]] = [
        {"item_id": "nope"},
        {"item_id": "pro-7d", "shipping_address": ADDRESS},
        {"item_id": "azr-10"},
        {"item_id": "azr-10", "eth_address": "0x123"},
        {"item_id": "azr-10", "eth_address": "0x" + "0" * 40},
    ]
    for case in cases:
        item_id = case.pop("item_id")
        with pytest.raises(LedgerError):
            rewards.redemptions.request("u1", item_id, "k", **case)
    assert journal_size(engine) == size
    assert rewards.redemptions.list_for_user("u1") == []
