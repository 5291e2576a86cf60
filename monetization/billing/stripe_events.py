"""Stripe events that change subscriptions (DESIGN §10), as webhook handlers.

- ``invoice.paid`` with ``data.object.metadata.azora_user_id`` and ``azora_plan``: records
  ``amount_paid`` cents as a ``subscription.charge`` (key ``stripe:invoice:{invoice id}``)
  and renews that user's period (the invoice line's period when it has one, else a month
  from now). Such a subscription is billed by Stripe: the billing run leaves it alone.
- ``customer.subscription.deleted`` with ``metadata.azora_user_id``: back on free now.
- ``charge.refunded``: the refunded part of a capture we recorded, moved back
  (``subscription.refund`` for subscriptions), once per refunded total.
- ``payment_intent.succeeded``: a capture confirmed late marks its attempt succeeded.

A validly signed event that lacks what a handler needs is acknowledged as ``ignored``: a
retry would not make it any better.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ledger import LedgerError
from monetization.billing.access import FeatureAccess
from monetization.billing.errors import UnknownPlan
from monetization.billing.model import (
    KIND_CHARGE,
    KIND_REFUND,
    REVENUE_ACCOUNT,
    USER_ID_RE,
    Subscription,
    Transition,
    to_free,
)
from monetization.billing.periods import add_month
from monetization.billing.plans import PlanCatalog
from monetization.billing.states import Event, Status
from monetization.billing.store import SubscriptionStore
from monetization.payments import Charge, PaymentRequest, Payments
from monetization.payments.webhooks import Handler

log = logging.getLogger(__name__)

STRIPE_MANAGED = "stripe_managed"  # payment_method of a subscription Stripe bills itself
CAS_ATTEMPTS = 5
AMOUNT_MAX_CENTS = 10**12


def _dict(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _object(event: Mapping[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def _user(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    user = metadata.get("azora_user_id") if isinstance(metadata, dict) else None
    return user if isinstance(user, str) and USER_ID_RE.fullmatch(user) else None


def _cents(value: object) -> int | None:
    return value if type(value) is int and 0 < value < AMOUNT_MAX_CENTS else None


def _instant(value: object) -> datetime | None:
    if type(value) is not int or not 0 < value < 253_402_300_800:  # before year 10000
        return None
    return datetime.fromtimestamp(value, UTC)


def _period(obj: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    lines = obj.get("lines")
    data = lines.get("data") if isinstance(lines, dict) else None
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    period = _dict(first, "period")
    start, end = _instant(period.get("start")), _instant(period.get("end"))
    if start is not None and end is not None and start < end:
        return start, end
    return now, add_month(now, now.day)


class StripeEvents:
    def __init__(
        self,
        store: SubscriptionStore,
        catalog: PlanCatalog,
        payments: Payments,
        access: FeatureAccess,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.payments = payments
        self.access = access
        self.clock = clock

    def handlers(self) -> dict[str, Handler]:
        return {
            "invoice.paid": self.invoice_paid,
            "customer.subscription.deleted": self.subscription_deleted,
            "charge.refunded": self.charge_refunded,
            "payment_intent.succeeded": self.payment_succeeded,
        }

    def invoice_paid(self, event: Mapping[str, Any]) -> str:
        obj = _object(event)
        user, amount = _user(obj), _cents(obj.get("amount_paid"))
        metadata = _dict(obj, "metadata")
        invoice_id = _str(obj, "id") or str(event["id"])
        try:
            plan = self.catalog.plan(str(metadata.get("azora_plan")))
        except UnknownPlan:
            return "ignored"
        if user is None or amount is None or not plan.paid or len(invoice_id) > 64:
            return "ignored"
        start, end = _period(obj, self.clock())
        request = PaymentRequest(
            customer=user, amount=amount, payment_method=STRIPE_MANAGED,
            key=f"stripe:invoice:{invoice_id}", kind=KIND_CHARGE, purpose="subscription",
            destinations=((REVENUE_ACCOUNT, amount),),
            metadata={"user_id": user, "plan": plan.id, "event": Event.RENEW.value,
                      "invoice": invoice_id, "period_start": start.isoformat(),
                      "period_end": end.isoformat()},
            effective_at=start,
        )  # fmt: skip
        charge_id = _str(obj, "charge") or invoice_id
        captured = self.payments.record_external(
            Charge(charge_id, amount, "usd", STRIPE_MANAGED), request
        )
        self._renew(user, plan.id, (start, end), amount, captured.entry.id)
        return "handled"

    def _renew(
        self, user: str, plan_id: str, period: tuple[datetime, datetime], amount: int, entry: str
    ) -> None:
        start, end = period
        for _ in range(CAS_ATTEMPTS):
            sub = self.store.ensure_row(user)
            if sub.current_period_end is not None and sub.current_period_end >= end:
                return  # renewed already (a replay)
            paid_before = self.catalog.plan(sub.plan_id).paid
            event = Event.RENEW if paid_before and sub.status is not Status.CANCELED else (
                Event.SUBSCRIBE
            )  # fmt: skip
            after = replace(
                to_free(sub, Status.ACTIVE), plan_id=plan_id, current_period_start=start,
                current_period_end=end, anchor_day=start.day, payment_method=STRIPE_MANAGED,
            )  # fmt: skip
            if self.store.apply([Transition(event, sub, after, start, amount, entry)]):
                self.access.forget([user])
                return
        log.warning("invoice.paid for %s: the subscription kept changing", user)

    def subscription_deleted(self, event: Mapping[str, Any]) -> str:
        user = _user(_object(event))
        if user is None:
            return "ignored"
        for _ in range(CAS_ATTEMPTS):
            sub = self.store.get(user)
            if not self.catalog.plan(sub.plan_id).paid or sub.version == 0:
                return "ignored"
            ending = Event.END if sub.status is Status.ACTIVE else Event.END_NOW
            after = to_free(sub, Status.CANCELED)
            if self.store.apply([Transition(ending, sub, after, self.clock())]):
                self.access.forget([user])
                return "handled"
        return "busy"

    def charge_refunded(self, event: Mapping[str, Any]) -> str:
        obj = _object(event)
        refunded = _cents(obj.get("amount_refunded"))
        charge_id = obj.get("payment_intent") or obj.get("id")
        if refunded is None or not isinstance(charge_id, str):
            return "ignored"
        attempt = self.payments.attempts.by_charge(charge_id)
        if attempt is None or attempt.entry_id is None or refunded <= attempt.refunded:
            return "ignored"
        kind = KIND_REFUND if attempt.purpose == "subscription" else f"{attempt.purpose}.refund"
        try:
            self.payments.refund(
                attempt.entry_id, refunded - attempt.refunded,
                key=f"stripe:refund:{charge_id}:{refunded}", kind=kind, at_provider=False,
            )  # fmt: skip
        except LedgerError as error:
            log.warning("charge.refunded %s not recorded: %s", charge_id, error.detail)
            return "refused"
        self.payments.attempts.mark_refunded(attempt.key, refunded, self.clock())
        return "handled"

    def payment_succeeded(self, event: Mapping[str, Any]) -> str:
        obj = _object(event)
        key, intent = _dict(obj, "metadata").get("azora_key"), obj.get("id")
        if not isinstance(key, str) or not isinstance(intent, str):
            return "ignored"
        done = self.payments.attempts.mark_succeeded(key, intent, self.clock())
        return "handled" if done else "ignored"


def stripe_managed(sub: Subscription) -> bool:
    return sub.payment_method == STRIPE_MANAGED
