"""Business metrics on a small history whose answers are worked out by hand below."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from ledger import USD, Account, Ledger, NewEntry, Posting
from monetization.billing import Billing
from monetization.payments import PaymentDeclined
from tests.integration.billing.conftest import DECLINED, Clock, set_method, subscribe


def _at(month: int, day: int) -> datetime:
    return datetime(2030, month, day, 12, tzinfo=UTC)


def _sale(book: Ledger, key: str, at: datetime, instructor: int, platform: int, kind: str) -> None:
    for account, negative in (("world:card", True), ("instructor:i1:pending", False),
                              ("platform:revenue:marketplace", False)):  # fmt: skip
        book.create_account(Account(account, USD.code, allow_negative=negative))
    postings = (
        Posting("world:card", "instructor:i1:pending", "USD", instructor),
        Posting("world:card", "platform:revenue:marketplace", "USD", platform),
    )
    book.post_entry(NewEntry(kind, postings, effective_at=at), idempotency_key=key)


@pytest.fixture
def history(billing: Billing, ledger_: Ledger, clock: Clock, engine: Engine) -> Billing:
    """February: a (pro), b (enterprise), c (pro) subscribe on the 10th; c cancels on the
    20th. March: d is declined once, then subscribes to pro on the 5th; renewals on the
    10th: a paid, b declined (retries on the 11th, 13th, 15th and 17th all declined: b
    falls to free), c's period ends; a upgrades to enterprise on the 15th."""
    clock.set(_at(2, 10))
    for user, plan in (("a", "pro"), ("b", "enterprise"), ("c", "pro")):
        subscribe(billing, user, plan)
    clock.set(_at(2, 20))
    billing.cancel("c")
    clock.set(_at(3, 5))
    with pytest.raises(PaymentDeclined):
        subscribe(billing, "d", "pro", DECLINED, key="try-1")
    subscribe(billing, "d", "pro", key="try-2")
    set_method(engine, "b", DECLINED)
    billing.run(_at(3, 10))
    clock.set(_at(3, 15))
    subscribe(billing, "a", "enterprise", key="up")
    billing.run(_at(3, 31))
    # Marketplace sales: 49.99 in March, 20.00 in February; a refund kind is not a sale.
    _sale(ledger_, "sale-1", _at(3, 20), 3499, 1500, "marketplace.sale")
    _sale(ledger_, "sale-0", _at(2, 25), 1400, 600, "marketplace.sale")
    _sale(ledger_, "other", _at(3, 21), 700, 300, "marketplace.other")
    return billing


def test_march(history: Billing) -> None:
    m = history.metrics.month(2030, 3)
    # End of March: a on enterprise (99.00), d on pro (9.99); b expired, c ended.
    assert (m.mrr, m.paying_customers) == (9900 + 999, 2)
    # Paying on 1 March: a, b, c; of those b and c no longer pay: 2 of 3.
    assert (m.customers_at_start, m.churned_customers, m.churn.text()) == (3, 2, "0.6667")
    # Attempts in March: d declined, d paid, a renewed, b declined on the 10th, 11th, 13th,
    # 15th and 17th, a's upgrade paid: 3 captured of 9.
    assert (m.payments.numerator, m.payments.denominator) == (3, 9)
    assert m.payments.text() == "0.3333"
    # d 9.99 + a's renewal 9.99 + a's upgrade: (99.00 - 9.99) x 26 of 31 days = 74.65.
    assert m.subscription_revenue == 999 + 999 + 7465
    assert m.marketplace_gross == 3499 + 1500
    assert m.targets_met() == {
        "mrr": False, "paying_customers": False, "payment_success_rate": False,
        "churn_rate": False,
    }  # fmt: skip


def test_february(history: Billing) -> None:
    m = history.metrics.month(2030, 2)
    assert (m.mrr, m.paying_customers) == (999 + 9900 + 999, 3)  # c pays until 10 March
    assert (m.customers_at_start, m.churn.text()) == (0, None)
    assert (m.payments.numerator, m.payments.denominator, m.payments.text()) == (3, 3, "1.0000")
    assert m.subscription_revenue == 999 + 9900 + 999
    assert m.marketplace_gross == 2000


def test_a_month_with_nothing(billing: Billing) -> None:
    m = billing.metrics.month(2031, 7)
    assert (m.mrr, m.paying_customers, m.churn.text(), m.payments.text()) == (0, 0, None, None)
    assert (m.subscription_revenue, m.marketplace_gross) == (0, 0)
