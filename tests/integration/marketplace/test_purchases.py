"""Purchases over a real ledger on both back ends: the split in one entry, idempotency, no
double purchase under concurrency, declined and unavailable cards change nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select

from ledger import Ledger, NotFound
from monetization.billing import Billing
from monetization.marketplace import AlreadyPurchased, Marketplace, Purchase
from monetization.marketplace.errors import MarketIdempotencyConflict, OwnCourse
from monetization.marketplace.tables import market_purchases
from monetization.payments import PaymentDeclined, PaymentProviderUnavailable
from tests.integration.marketplace.conftest import (
    DECLINED,
    UNAVAILABLE,
    VISA,
    Clock,
    buy,
    instructor_on,
    new_course,
)

pytestmark = pytest.mark.integration


def _balance(book: Ledger, account: str) -> int:
    try:
        return book.balance(account).balance
    except NotFound:
        return 0


@pytest.mark.parametrize(
    ("plan", "price", "share"),
    [("pro", "49.99", 3499), ("enterprise", "49.99", 3749), ("enterprise", "0.10", 8)],
)
def test_one_entry_splits_the_price_by_the_plan_at_sale(
    market: Marketplace, billing: Billing, book: Ledger, plan: str, price: str, share: int
) -> None:
    instructor_on(billing, "teach", plan)
    course = new_course(market, price=price)
    purchase = buy(market, course, "bob")
    assert isinstance(purchase, Purchase) and purchase.entry_id is not None
    entry = book.get_entry(purchase.entry_id)
    assert entry.kind == "marketplace.sale"
    legs = {p.destination: p.amount for p in entry.postings}
    assert all(p.source == "world:card" for p in entry.postings)
    assert legs["instructor:teach:pending"] == share == purchase.instructor_share
    assert legs["platform:revenue:marketplace"] == course.price - share
    assert entry.metadata["instructor_plan"] == plan
    assert entry.metadata["split"] == ("75/25" if plan == "enterprise" else "70/30")
    assert "title" not in entry.metadata  # pseudonymous ids only
    assert market.courses.get(course.id).purchase_count == 1


def test_the_plan_is_the_one_at_the_time_of_sale(market: Marketplace, billing: Billing) -> None:
    instructor_on(billing, "teach", "pro")
    course = new_course(market, price="10.00")
    first = buy(market, course, "bob")
    billing.subscribe("teach", "enterprise", VISA, principal="user:teach", key="up")
    second = buy(market, course, "carol")
    assert isinstance(first, Purchase) and isinstance(second, Purchase)
    assert (first.instructor_share, second.instructor_share) == (700, 750)
    assert (first.instructor_plan, second.instructor_plan) == ("pro", "enterprise")


def test_same_key_replays_and_another_body_conflicts(market: Marketplace, billing: Billing) -> None:
    instructor_on(billing, "teach", "pro")
    course = new_course(market)
    first, replayed0 = market.purchases.buy(course.id, "bob", VISA, principal="user:bob", key="k")
    again, replayed1 = market.purchases.buy(course.id, "bob", VISA, principal="user:bob", key="k")
    assert (again, replayed0, replayed1) == (first, False, True)
    with pytest.raises(MarketIdempotencyConflict):
        market.purchases.buy(course.id, "bob", DECLINED, principal="user:bob", key="k")
    with pytest.raises(AlreadyPurchased):
        market.purchases.buy(course.id, "bob", VISA, principal="user:bob", key="k2")


@pytest.mark.parametrize(
    ("method", "error"), [(DECLINED, PaymentDeclined), (UNAVAILABLE, PaymentProviderUnavailable)]
)
def test_a_refused_card_changes_nothing_and_frees_the_key(
    market: Marketplace,
    billing: Billing,
    book: Ledger,
    engine: Engine,
    method: str,
    error: type[Exception],
) -> None:
    instructor_on(billing, "teach", "pro")
    course = new_course(market)
    with pytest.raises(error):
        market.purchases.buy(course.id, "bob", method, principal="user:bob", key="k")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(market_purchases)).scalar() == 0
    assert _balance(book, "instructor:teach:pending") == 0
    assert market.courses.get(course.id).purchase_count == 0
    # The key is free again: the same key with a good card buys.
    purchase, replayed = market.purchases.buy(course.id, "bob", VISA, principal="user:bob", key="k")
    assert not replayed and purchase.status.value == "completed"


def test_free_course_grants_access_without_an_entry(market: Marketplace, book: Ledger) -> None:
    course = new_course(market, price="0")
    purchase = buy(market, course, "bob")
    assert isinstance(purchase, Purchase) and purchase.entry_id is None and purchase.price == 0
    assert market.purchases.has_access("bob", course)
    assert not market.purchases.has_access("carol", course)
    assert _balance(book, "instructor:teach:pending") == 0


def test_instructor_cannot_buy_their_own(market: Marketplace, billing: Billing) -> None:
    instructor_on(billing, "teach", "pro")
    course = new_course(market)
    with pytest.raises(OwnCourse):
        buy(market, course, "teach")
    assert market.purchases.has_access("teach", course)


def _race(n: int, action: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as error:  # collected, asserted below
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_the_same_buyer_buying_twice_at_once_gets_one_purchase(
    market: Marketplace, billing: Billing, book: Ledger, engine: Engine
) -> None:
    instructor_on(billing, "teach", "pro")
    course = new_course(market, price="20.00")
    results = _race(
        6,
        lambda i: market.purchases.buy(
            course.id, "bob", VISA, principal="user:bob", key=f"race-{i}"
        ),
    )
    bought = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, AlreadyPurchased)]
    assert len(bought) == 1 and len(refused) == 5, results
    assert _balance(book, "instructor:teach:pending") == 1400
    assert _balance(book, "platform:revenue:marketplace") == 600
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(market_purchases)).scalar() == 1
    assert market.courses.get(course.id).purchase_count == 1


def test_the_same_key_at_once_answers_one_purchase(
    market: Marketplace, billing: Billing, book: Ledger
) -> None:
    instructor_on(billing, "teach", "pro")
    course = new_course(market, price="20.00")
    results = _race(
        4, lambda i: market.purchases.buy(course.id, "bob", VISA, principal="user:bob", key="same")
    )
    purchases = {r[0].id for r in results if isinstance(r, tuple)}
    assert len(purchases) == 1, results
    assert _balance(book, "instructor:teach:pending") == 1400


def test_library_lists_what_was_bought(market: Marketplace, billing: Billing, clock: Clock) -> None:
    instructor_on(billing, "teach", "pro")
    courses = [new_course(market, title=f"Course {i}", price="5.00") for i in range(3)]
    for course in courses:
        clock.advance(seconds=1)
        buy(market, course, "bob")
    page1 = market.purchases.library("bob", limit=2)
    page2 = market.purchases.library("bob", limit=2, before=page1[-1][0].id)
    titles = [c.title for _, c in page1 + page2]
    assert titles == ["Course 2", "Course 1", "Course 0"]
