"""Subscriptions and billing: plans with their features (data), the subscription
lifecycle with proration, the billing run with retries and grace, feature access from a
cache every process invalidates at once, and the business metrics.

Build everything with :func:`build_billing` (the composition root's one call). Other
modules ask :meth:`Billing.plan_of` and :meth:`Billing.feature`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from ledger import Ledger
from monetization.billing.access import FeatureAccess
from monetization.billing.changes import ChangeResult, PlanChanges
from monetization.billing.config import BillingConfig
from monetization.billing.errors import (
    SubscriptionBusy,
    SubscriptionStateConflict,
    UnknownFeature,
    UnknownPlan,
)
from monetization.billing.invalidation import notify_plan_changes
from monetization.billing.lifecycle import Subscriptions
from monetization.billing.metrics import BusinessMetrics, MonthMetrics
from monetization.billing.model import Subscription
from monetization.billing.plans import Feature, FeatureType, FeatureValue, Plan, PlanCatalog
from monetization.billing.renewal import BillingRun, RunReport
from monetization.billing.states import Event, Status
from monetization.billing.store import SubscriptionStore
from monetization.billing.stripe_events import StripeEvents
from monetization.payments import (
    AttemptLog,
    PaymentMetrics,
    PaymentProvider,
    Payments,
    StripeSignatures,
    WebhookInbox,
)


class PeriodicCharges(Protocol):
    """Another domain's recurring charges, made by the billing run (license charges):
    everything due by ``now``, once, reported in the run's own counts."""

    def run(self, now: datetime) -> RunReport: ...


class Billing:
    """The billing domain's services, built once per process by :func:`build_billing`."""

    def __init__(
        self,
        *,
        catalog: PlanCatalog,
        subscriptions: Subscriptions,
        access: FeatureAccess,
        runner: BillingRun,
        changes: PlanChanges,
        metrics: BusinessMetrics,
        payments: Payments,
        webhooks: WebhookInbox,
    ) -> None:
        self.catalog = catalog
        self.subscriptions = subscriptions
        self.access = access
        self.runner = runner
        self.changes = changes
        self.metrics = metrics
        self.payments = payments
        self.webhooks = webhooks
        self._periodic: list[PeriodicCharges] = []

    def add_charges(self, charges: PeriodicCharges) -> None:
        """Have every billing run make ``charges`` too (the composition root's call)."""
        self._periodic.append(charges)

    # --- what other modules call -------------------------------------------------------

    def plan_of(self, user_id: str) -> Plan:
        """The plan ``user_id`` is on now (cached; a change is seen at once)."""
        return self.access.plan_of(user_id)

    def feature(self, user_id: str, key: str) -> FeatureValue:
        """Feature ``key`` for ``user_id``: bool, limit, or None (unlimited)."""
        return self.access.feature(user_id, key)

    # --- lifecycle ---------------------------------------------------------------------

    def subscribe(
        self, user_id: str, plan_id: str, payment_method: str, *, principal: str, key: str
    ) -> ChangeResult:
        result = self.subscriptions.request(
            user_id, plan_id, payment_method, principal=principal, key=key
        )
        self.access.forget([user_id])
        return result

    def cancel(self, user_id: str) -> Subscription:
        sub = self.subscriptions.cancel(user_id)
        self.access.forget([user_id])
        return sub

    def resume(self, user_id: str) -> Subscription:
        sub = self.subscriptions.resume(user_id)
        self.access.forget([user_id])
        return sub

    def run(self, now: datetime | None = None) -> RunReport:
        """The billing run (``azora billing run``, the maintenance loop)."""
        self.changes.recover_stale()
        now = now or self.runner.clock()
        report = self.runner.run(now)
        for charges in self._periodic:
            report.add(charges.run(now))
        return report

    def close(self) -> None:
        self.access.close()


def build_billing(
    engine: Engine,
    ledger: Ledger,
    config: BillingConfig,
    provider: PaymentProvider,
    clock: Callable[[], datetime],
    *,
    webhook_secrets: Sequence[str] = (),
    metrics: PaymentMetrics | None = None,
) -> Billing:
    """Everything billing and payments need, from what the composition root owns;
    ``metrics`` counts the outcome of every charge attempt."""
    catalog = PlanCatalog(engine)
    store = SubscriptionStore(engine, catalog, clock, notify_plan_changes)
    attempts = AttemptLog(engine)
    payments = Payments(ledger, provider, attempts, clock, metrics)
    changes = PlanChanges(store, catalog, payments, config, clock)
    access = FeatureAccess(store, catalog, config.feature_cache_ttl_s)
    events = StripeEvents(store, catalog, payments, access, clock)
    return Billing(
        catalog=catalog,
        subscriptions=Subscriptions(store, catalog, changes, clock),
        access=access,
        runner=BillingRun(store, catalog, payments, config, clock),
        changes=changes,
        metrics=BusinessMetrics(engine, ledger, attempts),
        payments=payments,
        webhooks=WebhookInbox(engine, StripeSignatures(webhook_secrets), events.handlers(), clock),
    )


__all__ = [
    "Billing",
    "BillingConfig",
    "ChangeResult",
    "Event",
    "Feature",
    "FeatureType",
    "FeatureValue",
    "MonthMetrics",
    "PeriodicCharges",
    "Plan",
    "RunReport",
    "Status",
    "Subscription",
    "SubscriptionBusy",
    "SubscriptionStateConflict",
    "UnknownFeature",
    "UnknownPlan",
    "build_billing",
]
