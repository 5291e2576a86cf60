"""Billing over a real ledger (SQLite and PostgreSQL) with a clock the test sets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from ledger import Ledger
from monetization.billing import Billing, BillingConfig, build_billing
from monetization.billing.tables import billing_subscriptions
from monetization.payments import LocalProvider

VISA, DECLINED, UNAVAILABLE = "pm_card_visa", "pm_card_chargeDeclined", "pm_card_unavailable"
START = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)


class Clock:
    """A settable instant (billing periods need months to pass in a test)."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self.now

    def set(self, at: datetime) -> None:
        with self._lock:
            self.now = at

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self.now += timedelta(**delta)
            return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def ledger_(engine: Engine, clock: Clock) -> Iterator[Ledger]:
    with Ledger(engine, clock=clock) as book:
        yield book


def make_billing(engine: Engine, book: Ledger, clock: Clock, **config: object) -> Billing:
    return build_billing(
        engine, book, BillingConfig(**config), LocalProvider(), clock,  # type: ignore[arg-type]
        webhook_secrets=["whsec_test"],
    )  # fmt: skip


@pytest.fixture
def billing(engine: Engine, ledger_: Ledger, clock: Clock) -> Iterator[Billing]:
    service = make_billing(engine, ledger_, clock)
    yield service
    service.close()


def subscribe(
    billing: Billing, user: str, plan: str, method: str = VISA, key: str | None = None
) -> object:
    return billing.subscribe(user, plan, method, principal=f"user:{user}", key=key or f"{plan}-1")


def set_method(engine: Engine, user: str, method: str) -> None:
    """The card on file changes (as if the customer's bank started refusing it)."""
    with engine.begin() as conn:
        conn.execute(
            update(billing_subscriptions)
            .where(billing_subscriptions.c.user_id == user)
            .values(payment_method=method)
        )


def revenue(book: Ledger) -> int:
    return book.balance("platform:revenue:subscriptions").balance
