"""Plan changes within one period, decided purely: what they charge, what they leave."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monetization.billing.config import BillingConfig
from monetization.billing.decisions import (
    FreeChange,
    PaidChange,
    PeriodEnd,
    Renewal,
    decide_cancel,
    decide_due,
    decide_plan_request,
    decide_resume,
)
from monetization.billing.errors import SubscriptionStateConflict
from monetization.billing.model import Subscription
from monetization.billing.plans import Plan
from monetization.billing.states import Event, Status

START = datetime(2030, 3, 10, 15, tzinfo=UTC)


def _plans(pro: int, enterprise: int) -> dict[str, Plan]:
    return {
        "free": Plan("free", "Free", 0, "USD", "month", 0),
        "pro": Plan("pro", "Pro", pro, "USD", "month", 1),
        "enterprise": Plan("enterprise", "Enterprise", enterprise, "USD", "month", 2),
    }


actions = st.lists(
    st.tuples(
        st.sampled_from(["free", "pro", "enterprise", "cancel", "resume"]),
        st.integers(0, 27 * 86_400 * 10**6),  # microseconds into the month, ascending below
    ),
    max_size=12,
)


@settings(max_examples=300)
@given(actions=actions, pro=st.integers(1, 50_000), extra=st.integers(0, 500_000))
def test_changes_within_a_period_never_charge_more_than_the_dearest_plan(
    actions: list[tuple[str, int]], pro: int, extra: int
) -> None:
    plans = _plans(pro, pro + extra)
    sub = Subscription("u", version=1)
    charged = 0
    period_start: datetime | None = None
    for action, offset_us in sorted(actions, key=lambda a: a[1]):
        now = START + timedelta(microseconds=offset_us)
        if period_start is not None and now >= START + timedelta(days=28):
            break
        current = plans[sub.plan_id]
        try:
            if action == "cancel":
                decision: PaidChange | FreeChange = decide_cancel(sub, current)
            elif action == "resume":
                decision = decide_resume(sub, current)
            else:
                decision = decide_plan_request(sub, current, plans[action], "pm_card_visa", now)
        except SubscriptionStateConflict:
            continue
        if isinstance(decision, PaidChange):
            charged += decision.amount
            if decision.event is Event.SUBSCRIBE:
                assert period_start is None, "one period: a second subscribe needs it to end"
                period_start = decision.period_start
            assert decision.after.current_period_start == period_start
        sub = decision.after
    assert 0 <= charged <= plans["enterprise"].price
    # Whoever ends on a paid plan paid at least its price for the rest of the period.
    if period_start is not None and plans[sub.plan_id].paid:
        assert charged >= plans["pro"].price


def test_an_upgrade_keeps_the_period_and_clears_what_was_scheduled() -> None:
    plans = _plans(999, 9900)
    sub = Subscription(
        "u", "pro", Status.ACTIVE, START, START + timedelta(days=31), 10,
        cancel_at_period_end=True, payment_method="pm_card_visa", version=3,
    )  # fmt: skip
    half = START + timedelta(days=15, hours=12)
    decision = decide_plan_request(sub, plans["pro"], plans["enterprise"], "pm_card_visa", half)
    assert isinstance(decision, PaidChange)
    assert decision.amount == (9900 - 999) // 2  # 4450.5 -> 4450 (ties to even)
    assert decision.after.current_period_end == sub.current_period_end
    assert not decision.after.cancel_at_period_end


def test_due_subscriptions_end_switch_or_renew() -> None:
    plans = _plans(999, 9900)
    end = START + timedelta(days=31)
    base = Subscription(
        "u", "pro", Status.ACTIVE, START, end, 10, payment_method="pm_card_visa",
        due_at=end, version=2,
    )  # fmt: skip
    assert decide_due(base, plans, end - timedelta(seconds=1)) is None
    renewal = decide_due(base, plans, end)
    assert isinstance(renewal, Renewal)
    assert (renewal.amount, renewal.period_start, renewal.attempt) == (999, end, 0)
    ended = decide_due(replace(base, cancel_at_period_end=True), plans, end)
    assert isinstance(ended, PeriodEnd) and ended.event is Event.END
    assert ended.after.plan_id == "free" and ended.after.status is Status.CANCELED
    down = decide_due(replace(base, scheduled_plan="free"), plans, end)
    assert isinstance(down, PeriodEnd) and down.event is Event.SWITCH_TO_FREE


@pytest.mark.parametrize("retry_days", [(1, 3, 5, 7), (2, 7), (7,)])
def test_failed_renewals_retry_on_schedule_then_expire(retry_days: tuple[int, ...]) -> None:
    config = BillingConfig(grace_days=7, retry_days=retry_days)
    plans = _plans(999, 9900)
    end = START + timedelta(days=31)
    sub = Subscription(
        "u", "pro", Status.ACTIVE, START, end, 10, payment_method="pm_card_visa",
        due_at=end, version=2,
    )  # fmt: skip
    seen: list[datetime] = []
    for _ in range(len(retry_days) + 1):
        assert sub.due_at is not None
        renewal = decide_due(sub, plans, sub.due_at)
        assert isinstance(renewal, Renewal)
        event, sub = renewal.failed(config)
        if event is Event.EXPIRE:
            break
        assert event is Event.RENEWAL_FAILED and sub.status is Status.PAST_DUE
        assert sub.grace_until == end + timedelta(days=7)
        assert sub.due_at is not None
        seen.append(sub.due_at)
    assert seen == [end + timedelta(days=d) for d in retry_days]
    assert sub.plan_id == "free" and sub.status is Status.CANCELED
