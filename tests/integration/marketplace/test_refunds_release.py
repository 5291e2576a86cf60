"""Refunds within the window, the release of matured shares, payouts, and the receivable
rule for a refund after the share was paid out; on both back ends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from ledger import InsufficientFunds, Ledger
from monetization.billing import Billing
from monetization.marketplace import Marketplace, Purchase, RefundWindowClosed
from monetization.marketplace.errors import PayoutStateConflict
from tests.integration.marketplace.conftest import Clock, buy, instructor_on, new_course

pytestmark = pytest.mark.integration
PENDING, AVAILABLE = "instructor:teach:pending", "instructor:teach:available"
RECEIVABLE = "instructor:teach:receivable"


def _paid(
    market: Marketplace, billing: Billing, price: str = "20.00", buyer: str = "bob"
) -> Purchase:
    instructor_on(billing, "teach", "pro")
    purchase = buy(market, new_course(market, price=price, title=f"C {buyer}"), buyer)
    assert isinstance(purchase, Purchase)
    return purchase


def test_refund_in_window_reverses_the_sale_and_revokes_access(
    market: Marketplace, billing: Billing, book: Ledger
) -> None:
    purchase = _paid(market, billing)
    course = market.courses.get(purchase.course_id)
    refunded = market.refunds.refund(purchase.id)
    assert refunded.status.value == "refunded" and refunded.refund_entry_id
    assert book.balance(PENDING).balance == 0
    assert book.balance("platform:revenue:marketplace").balance == 0
    assert book.get_entry(refunded.refund_entry_id).kind == "marketplace.refund"
    assert not market.purchases.has_access("bob", course)
    assert market.courses.get(course.id).purchase_count == 0
    assert market.refunds.refund(purchase.id) == refunded  # a repeat: the current state
    again = buy(market, course, "bob", key="again")  # refunded: may buy again
    assert isinstance(again, Purchase) and again.id != purchase.id


def test_after_the_window_refund_is_closed_and_the_share_is_released(
    market: Marketplace, billing: Billing, book: Ledger, clock: Clock
) -> None:
    purchase = _paid(market, billing)
    clock.advance(days=30)
    with pytest.raises(RefundWindowClosed):
        market.refunds.refund(purchase.id)
    report = market.maintain()
    assert report.released == 1 and market.maintain().released == 0  # once only
    assert book.balance(PENDING).balance == 0
    assert book.balance(AVAILABLE).balance == purchase.instructor_share
    released = market.purchases.get(purchase.id)
    assert released.status.value == "released" and released.release_entry_id is not None
    assert book.get_entry(released.release_entry_id).kind == "marketplace.release"


def test_release_waits_for_the_window(
    market: Marketplace, billing: Billing, book: Ledger, clock: Clock
) -> None:
    purchase = _paid(market, billing)
    clock.advance(days=29, hours=23)
    assert market.maintain().released == 0
    assert market.maintain(purchase.refundable_until).released == 1  # `--now` at the deadline
    assert book.balance(AVAILABLE).balance == purchase.instructor_share


def test_refund_racing_release_at_the_deadline_moves_the_share_once(
    market: Marketplace, billing: Billing, book: Ledger, clock: Clock
) -> None:
    purchase = _paid(market, billing)
    clock.set(purchase.refundable_until - timedelta(microseconds=1))
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def refund() -> None:
        barrier.wait()
        try:
            outcomes.append(market.refunds.refund(purchase.id))
        except Exception as error:
            outcomes.append(error)

    def release() -> None:
        barrier.wait()
        outcomes.append(market.releases.release_due(purchase.refundable_until))

    threads = [threading.Thread(target=refund), threading.Thread(target=release)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = market.purchases.get(purchase.id)
    pending, available = book.balance(PENDING).balance, book.balance(AVAILABLE).balance
    if final.status.value == "refunded":
        assert (pending, available) == (0, 0)
    else:
        assert final.status.value == "released"
        assert (pending, available) == (0, purchase.instructor_share)


def test_payouts_are_holds_completed_or_failed_by_an_admin(
    market: Marketplace, billing: Billing, book: Ledger, clock: Clock
) -> None:
    purchase = _paid(market, billing)
    clock.advance(days=31)
    market.maintain()
    share = purchase.instructor_share
    with pytest.raises(InsufficientFunds):
        market.payouts.request("teach", share + 1, principal="user:teach", key="too-much")
    payout, _ = market.payouts.request("teach", 500, principal="user:teach", key="p1")
    again, replayed = market.payouts.request("teach", 500, principal="user:teach", key="p1")
    assert replayed and again == payout
    assert book.balance(AVAILABLE).available == share - 500
    failed = market.payouts.resolve("teach", payout.id, "fail")
    assert failed.status.value == "failed" and book.balance(AVAILABLE).available == share
    with pytest.raises(PayoutStateConflict):
        market.payouts.resolve("teach", payout.id, "complete")
    second, _ = market.payouts.request("teach", share, principal="user:teach", key="p2")
    done = market.payouts.resolve("teach", second.id, "complete")
    assert done.status.value == "completed"
    assert book.balance(AVAILABLE).balance == 0
    assert book.balance("world:payouts").balance == share
    earnings = market.earnings.of("teach")
    assert (earnings.paid_out, earnings.available, earnings.lifetime) == (share, 0, share)


def test_refund_after_payout_follows_the_receivable_rule(
    market: Marketplace, billing: Billing, book: Ledger, clock: Clock
) -> None:
    """Paid out, then refunded past the window (admin): available never goes negative; what
    it lacks becomes a receivable, repaid from the next released share before any payout."""
    first = _paid(market, billing, "20.00", "bob")
    clock.advance(days=31)
    market.maintain()
    payout, _ = market.payouts.request("teach", 1000, principal="user:teach", key="p1")
    market.payouts.resolve("teach", payout.id, "complete")
    assert book.balance(AVAILABLE).balance == first.instructor_share - 1000  # 400 left
    refunded = market.refunds.refund(first.id, after_window=True)
    assert refunded.status.value == "refunded"
    assert book.balance(AVAILABLE).balance == 0
    assert book.balance(RECEIVABLE).balance == -1000
    assert book.balance(PENDING).balance == 0
    assert market.earnings.of("teach").receivable == 1000
    # The next sale, once released, repays the receivable first.
    second = _paid(market, billing, "30.00", "carol")
    clock.advance(days=31)
    market.maintain()
    assert book.balance(RECEIVABLE).balance == 0
    assert book.balance(AVAILABLE).balance == second.instructor_share - 1000
    with pytest.raises(InsufficientFunds):
        market.payouts.request("teach", second.instructor_share, principal="user:teach", key="p2")


def test_crash_after_the_claim_is_finished_by_maintenance(
    market: Marketplace, billing: Billing, book: Ledger, clock: Clock
) -> None:
    purchase = _paid(market, billing)
    # A refund that claimed the purchase and stopped (as if the process died).
    from sqlalchemy import update

    from monetization.marketplace.tables import market_purchases as P

    with market.purchases.engine.begin() as conn:
        conn.execute(
            update(P).where(P.c.id == purchase.id).values(status="refunding", updated_at=clock())
        )
    clock.advance(minutes=5)
    assert market.maintain().recovered == 1
    assert market.purchases.get(purchase.id).status.value == "refunded"
    assert book.balance(PENDING).balance == 0
