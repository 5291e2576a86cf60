"""Subscribe, upgrade with proration, downgrade, cancel and resume, refused charges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger import IdempotencyConflict, Ledger
from monetization.billing import Billing, Status, SubscriptionStateConflict, UnknownPlan
from monetization.billing.changes import ChangeResult
from monetization.payments import (
    InvalidPaymentMethod,
    PaymentDeclined,
    PaymentProviderUnavailable,
)
from tests.integration.billing.conftest import (
    DECLINED,
    START,
    UNAVAILABLE,
    VISA,
    Clock,
    revenue,
    subscribe,
)


def test_a_user_who_never_subscribed_is_on_free(billing: Billing) -> None:
    sub = billing.subscriptions.get("nobody")
    assert (sub.plan_id, sub.status, sub.current_period_end) == ("free", Status.ACTIVE, None)
    assert billing.plan_of("nobody").id == "free"
    assert billing.feature("nobody", "paid_course_publishing") is False


def test_subscribe_charges_the_full_price_for_a_month_clamped(
    billing: Billing, ledger_: Ledger
) -> None:
    result = subscribe(billing, "ada", "pro")
    assert isinstance(result, ChangeResult)
    price = billing.catalog.plan("pro").price
    assert result.amount == price
    sub = result.subscription
    # Subscribed on 31 January: the period ends on the last day of February.
    assert sub.current_period_start == START
    assert sub.current_period_end == datetime(2030, 2, 28, 12, tzinfo=UTC)
    assert result.entry_id is not None
    entry = ledger_.get_entry(result.entry_id)
    assert entry.kind == "subscription.charge"
    ((posting),) = entry.postings
    assert (posting.source, posting.destination, posting.amount) == (
        "world:card", "platform:revenue:subscriptions", price,
    )  # fmt: skip
    assert revenue(ledger_) == price
    assert billing.feature("ada", "paid_course_publishing") is True


def test_the_same_key_replays_and_another_body_conflicts(billing: Billing, ledger_: Ledger) -> None:
    first = subscribe(billing, "ada", "pro", key="k")
    again = subscribe(billing, "ada", "pro", key="k")
    assert isinstance(first, ChangeResult) and isinstance(again, ChangeResult)
    assert again.replayed and again.entry_id == first.entry_id
    assert revenue(ledger_) == billing.catalog.plan("pro").price
    with pytest.raises(IdempotencyConflict):
        subscribe(billing, "ada", "enterprise", key="k")


def test_upgrade_prorates_the_rest_of_the_period(
    billing: Billing, ledger_: Ledger, clock: Clock
) -> None:
    subscribe(billing, "ada", "pro")
    pro, ent = billing.catalog.plan("pro").price, billing.catalog.plan("enterprise").price
    clock.set(START + timedelta(days=7))  # 21 of 28 days left
    result = subscribe(billing, "ada", "enterprise", key="up")
    assert isinstance(result, ChangeResult)
    # (9900 - 999) * 21 / 28 = 8901 * 3 / 4 = 6675.75 -> 6676 (no tie: plain rounding)
    expected = ((ent - pro) * 3 + 2) // 4
    assert result.amount == expected == 6676
    assert result.subscription.current_period_end == datetime(2030, 2, 28, 12, tzinfo=UTC)
    assert result.entry_id is not None
    assert ledger_.get_entry(result.entry_id).kind == "subscription.proration"
    assert revenue(ledger_) == pro + expected
    assert billing.plan_of("ada").id == "enterprise"


def test_downgrade_and_cancel_wait_for_the_period_end_and_resume_undoes(
    billing: Billing, clock: Clock, ledger_: Ledger
) -> None:
    subscribe(billing, "ada", "enterprise")
    clock.advance(days=3)
    down = subscribe(billing, "ada", "pro", key="down")
    assert isinstance(down, ChangeResult)
    assert down.amount is None and down.subscription.scheduled_plan == "pro"
    assert down.subscription.plan_id == "enterprise"  # until the period ends
    assert billing.resume("ada").scheduled_plan is None
    assert billing.resume("ada").scheduled_plan is None  # a repeat: the state
    canceled = billing.cancel("ada")
    assert canceled.cancel_at_period_end and canceled.plan_id == "enterprise"
    assert billing.cancel("ada").cancel_at_period_end
    assert not billing.resume("ada").cancel_at_period_end
    assert revenue(ledger_) == billing.catalog.plan("enterprise").price


@pytest.mark.parametrize(
    ("method", "error"),
    [(DECLINED, PaymentDeclined), (UNAVAILABLE, PaymentProviderUnavailable),
     ("pm_card_unknown", InvalidPaymentMethod), ("pm card\u0000", InvalidPaymentMethod)],
)  # fmt: skip
def test_a_refused_charge_changes_nothing(
    billing: Billing, ledger_: Ledger, method: str, error: type[Exception]
) -> None:
    subscribe(billing, "ada", "pro")
    before = billing.subscriptions.get("ada")
    with pytest.raises(error):
        subscribe(billing, "ada", "enterprise", method, key="up")
    assert billing.subscriptions.get("ada") == before
    assert revenue(ledger_) == billing.catalog.plan("pro").price
    # The key was not consumed: the same key with a good card now works.
    result = subscribe(billing, "ada", "enterprise", VISA, key="up")
    assert isinstance(result, ChangeResult) and result.subscription.plan_id == "enterprise"


def test_an_outage_is_safe_to_retry_with_the_same_key(billing: Billing, ledger_: Ledger) -> None:
    for _ in range(3):
        with pytest.raises(PaymentProviderUnavailable):
            subscribe(billing, "ada", "pro", UNAVAILABLE, key="same")
    assert billing.subscriptions.get("ada").plan_id == "free"
    assert billing.metrics.attempts.counts(START, START + timedelta(days=1)).attempted == 1
    assert revenue(ledger_) == 0


def test_requests_that_make_no_sense_are_conflicts(billing: Billing) -> None:
    with pytest.raises(SubscriptionStateConflict):
        subscribe(billing, "ada", "free")
    with pytest.raises(SubscriptionStateConflict):
        billing.cancel("ada")
    with pytest.raises(SubscriptionStateConflict):
        billing.resume("ada")
    with pytest.raises(UnknownPlan):
        subscribe(billing, "ada", "platinum")
    subscribe(billing, "ada", "pro")
    with pytest.raises(SubscriptionStateConflict):
        subscribe(billing, "ada", "pro", key="again")


def test_a_change_left_half_done_is_finished_by_its_retry(
    billing: Billing, ledger_: Ledger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the charge, before the subscription changed: the retry with the same
    key finds the same charge and the same entry, and applies the change once."""
    original = billing.changes.store.apply
    calls = {"n": 0}

    def crash_once(*args: object, **kwargs: object) -> set[str]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("crash between the charge and the change")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(billing.changes.store, "apply", crash_once)
    with pytest.raises(RuntimeError):
        subscribe(billing, "ada", "pro", key="k")
    assert billing.subscriptions.get("ada").plan_id == "free"
    result = subscribe(billing, "ada", "pro", key="k")
    assert isinstance(result, ChangeResult) and result.subscription.plan_id == "pro"
    assert revenue(ledger_) == billing.catalog.plan("pro").price  # charged once


def test_a_stale_half_done_change_is_finished_by_the_next_request(
    billing: Billing, ledger_: Ledger, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = billing.changes.store.apply
    monkeypatch.setattr(
        billing.changes.store, "apply", lambda *a, **k: (_ for _ in ()).throw(RuntimeError())
    )
    with pytest.raises(RuntimeError):
        subscribe(billing, "ada", "pro", key="crashed")
    monkeypatch.setattr(billing.changes.store, "apply", original)
    from monetization.billing import SubscriptionBusy

    with pytest.raises(SubscriptionBusy):
        subscribe(billing, "ada", "enterprise", key="other")
    clock.advance(seconds=billing.changes.config.stale_change_s + 1)
    assert billing.changes.recover_stale() == 1
    assert billing.subscriptions.get("ada").plan_id == "pro"
    assert revenue(ledger_) == billing.catalog.plan("pro").price
