"""A user's subscription as a frozen value, and what a change does to it (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from ledger.errors import InvalidRequest
from monetization.billing.plans import FREE, Plan
from monetization.billing.states import Event, Status, next_status

USER_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # the API's user ids (api/security.py)
REVENUE_ACCOUNT = "platform:revenue:subscriptions"
KIND_CHARGE = "subscription.charge"
KIND_PRORATION = "subscription.proration"
KIND_REFUND = "subscription.refund"


REQUEST_KEY_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")  # the API's Idempotency-Key


def check_request_key(key: object) -> str:
    if not isinstance(key, str) or not REQUEST_KEY_RE.fullmatch(key):
        raise InvalidRequest("the idempotency key must be 1-128 characters of [A-Za-z0-9_.:-]")
    return key


def check_user_id(user_id: object) -> str:
    if not isinstance(user_id, str) or not USER_ID_RE.fullmatch(user_id):
        raise InvalidRequest("user id must match ^[a-z0-9][a-z0-9_-]{0,63}$")
    return user_id


@dataclass(frozen=True, slots=True)
class Subscription:
    user_id: str
    plan_id: str = FREE
    status: Status = Status.ACTIVE
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    anchor_day: int | None = None
    cancel_at_period_end: bool = False
    scheduled_plan: str | None = None
    payment_method: str | None = None
    failed_attempts: int = 0
    grace_until: datetime | None = None
    due_at: datetime | None = None
    change_id: str | None = None
    version: int = 0  # 0: no row yet (never subscribed)

    @property
    def in_period(self) -> bool:
        return self.current_period_end is not None


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change: the event, the subscription before and after, what it charged."""

    event: Event
    before: Subscription
    after: Subscription
    at: datetime
    amount: int = 0
    entry_id: str | None = None

    def __post_init__(self) -> None:
        # The transition table decides; a change it does not allow is a bug here.
        assert next_status(self.before.status, self.event) is self.after.status, self


def mrr_of(sub: Subscription, plan: Plan) -> int:
    """The monthly recurring amount ``sub`` contributes: its plan's price while paying."""
    assert plan.id == sub.plan_id, (plan.id, sub.plan_id)
    return plan.price if sub.status is not Status.CANCELED and plan.paid else 0


def to_free(sub: Subscription, status: Status) -> Subscription:
    """Back on ``free``: no period, nothing scheduled, nothing due."""
    return replace(
        sub,
        plan_id=FREE,
        status=status,
        current_period_start=None,
        current_period_end=None,
        anchor_day=None,
        cancel_at_period_end=False,
        scheduled_plan=None,
        failed_attempts=0,
        grace_until=None,
        due_at=None,
    )
