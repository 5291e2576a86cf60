"""What a request or a due date does to a subscription: pure functions, no I/O.

Each returns a :class:`Plan`-priced decision the services then charge and apply. Money
rules (DESIGN §11):

- free (or ended, or past due) -> paid: the full price now, a new one-month period from now;
- upgrade: at once, ``round_half_even((new - old) * remaining_s / period_s)`` cents, the
  period unchanged;
- downgrade (free included) and cancel: at the period's end, nothing refunded;
- renewal: the plan's price (or the scheduled plan's) for the next period, starting where
  the last one ended.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monetization.billing.config import BillingConfig
from monetization.billing.errors import SubscriptionStateConflict
from monetization.billing.model import Subscription, to_free
from monetization.billing.periods import add_month, proration
from monetization.billing.plans import FREE, Plan
from monetization.billing.states import Event, Status


@dataclass(frozen=True, slots=True)
class PaidChange:
    """Charge ``amount`` now, then the subscription becomes ``after``."""

    event: Event  # SUBSCRIBE or UPGRADE
    after: Subscription
    amount: int
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True, slots=True)
class FreeChange:
    """No money moves: the subscription becomes ``after`` (None: nothing to do)."""

    event: Event | None
    after: Subscription


def decide_plan_request(
    sub: Subscription, current: Plan, target: Plan, payment_method: str, now: datetime
) -> PaidChange | FreeChange:
    """``POST /v1/users/{id}/subscription {plan, payment_method}`` at ``now``."""
    if sub.status is Status.PAST_DUE:
        if not target.paid:
            return FreeChange(Event.END_NOW, to_free(sub, Status.CANCELED))
        return _subscribe(sub, target, payment_method, now)
    if not current.paid:
        if not target.paid:
            raise SubscriptionStateConflict("the user is on free already")
        return _subscribe(sub, target, payment_method, now)
    assert sub.current_period_start is not None and sub.current_period_end is not None
    if now >= sub.current_period_end:
        raise SubscriptionStateConflict(
            "the current period ended and its renewal is due: retry after the billing run"
        )
    if target.id == current.id:
        raise SubscriptionStateConflict(
            f"the user is on {target.id} already (resume undoes a scheduled change)"
        )
    if target.rank < current.rank:
        after = replace(sub, scheduled_plan=target.id, cancel_at_period_end=False)
        return FreeChange(Event.SCHEDULE_DOWNGRADE, after)
    amount = proration(
        current.price, target.price, now, sub.current_period_start, sub.current_period_end
    )
    after = replace(
        sub,
        plan_id=target.id,
        payment_method=payment_method,
        scheduled_plan=None,
        cancel_at_period_end=False,
    )
    return PaidChange(
        Event.UPGRADE, after, amount, sub.current_period_start, sub.current_period_end
    )


def _subscribe(sub: Subscription, plan: Plan, payment_method: str, now: datetime) -> PaidChange:
    end = add_month(now, now.day)
    after = replace(
        to_free(sub, Status.ACTIVE),
        plan_id=plan.id,
        current_period_start=now,
        current_period_end=end,
        anchor_day=now.day,
        payment_method=payment_method,
        due_at=end,
    )
    return PaidChange(Event.SUBSCRIBE, after, plan.price, now, end)


def decide_cancel(sub: Subscription, current: Plan) -> FreeChange:
    if sub.status is Status.PAST_DUE:
        return FreeChange(Event.END_NOW, to_free(sub, Status.CANCELED))
    if not current.paid:
        raise SubscriptionStateConflict("there is no paid subscription to cancel")
    if sub.cancel_at_period_end:
        return FreeChange(None, sub)  # a repeat answers with the current state
    return FreeChange(Event.CANCEL, replace(sub, cancel_at_period_end=True, scheduled_plan=None))


def decide_resume(sub: Subscription, current: Plan) -> FreeChange:
    if not current.paid or sub.status is not Status.ACTIVE:
        raise SubscriptionStateConflict("there is no active paid subscription to resume")
    if not sub.cancel_at_period_end and sub.scheduled_plan is None:
        return FreeChange(None, sub)
    return FreeChange(Event.RESUME, replace(sub, cancel_at_period_end=False, scheduled_plan=None))


# --- renewals ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Renewal:
    """Charge ``amount`` for ``[period_start, period_end)``; ``attempt`` counts from 0."""

    sub: Subscription
    plan: Plan
    amount: int
    period_start: datetime
    period_end: datetime
    attempt: int
    at: datetime  # when the charge is due (the period's start, or the retry's date)

    def succeeded(self, entry_id: str) -> tuple[Event, Subscription]:
        after = replace(
            self.sub,
            plan_id=self.plan.id,
            status=Status.ACTIVE,
            current_period_start=self.period_start,
            current_period_end=self.period_end,
            scheduled_plan=None,
            failed_attempts=0,
            grace_until=None,
            due_at=self.period_end,
        )
        return Event.RENEW, after

    def failed(self, config: BillingConfig) -> tuple[Event, Subscription]:
        """Declined: the next retry on schedule, or, after the last one (the end of the
        grace period), back to free. A late run replays the missed retries in order."""
        grace_until = self.period_start + timedelta(days=config.grace_days)
        attempts = self.attempt + 1
        if attempts > len(config.retry_days) or self.at >= grace_until:
            return Event.EXPIRE, to_free(self.sub, Status.CANCELED)
        after = replace(
            self.sub,
            status=Status.PAST_DUE,
            failed_attempts=attempts,
            grace_until=grace_until,
            due_at=self.period_start + timedelta(days=config.retry_days[attempts - 1]),
        )
        return Event.RENEWAL_FAILED, after


@dataclass(frozen=True, slots=True)
class PeriodEnd:
    """No charge: the period ended into ``free`` (a cancel or a downgrade to free)."""

    sub: Subscription
    event: Event
    after: Subscription
    at: datetime


def decide_due(
    sub: Subscription, plans: dict[str, Plan], now: datetime
) -> Renewal | PeriodEnd | None:
    """What the billing run does with ``sub`` at ``now`` (None: nothing is due)."""
    if sub.due_at is None or sub.due_at > now or sub.current_period_end is None:
        return None
    end = sub.current_period_end
    if sub.status is Status.ACTIVE:
        if sub.cancel_at_period_end:
            return PeriodEnd(sub, Event.END, to_free(sub, Status.CANCELED), end)
        if sub.scheduled_plan == FREE:
            return PeriodEnd(sub, Event.SWITCH_TO_FREE, to_free(sub, Status.ACTIVE), end)
        plan = plans[sub.scheduled_plan or sub.plan_id]
        assert sub.anchor_day is not None
        return Renewal(sub, plan, plan.price, end, add_month(end, sub.anchor_day), 0, end)
    if sub.status is Status.PAST_DUE:
        # The overdue period is the one after ``current_period_end``: still unpaid.
        plan = plans[sub.scheduled_plan or sub.plan_id]
        assert sub.anchor_day is not None
        start = end
        return Renewal(
            sub, plan, plan.price, start, add_month(start, sub.anchor_day),
            sub.failed_attempts, sub.due_at,
        )  # fmt: skip
    return None
