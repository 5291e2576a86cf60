"""Subscriptions: read, change plan (paid or not), cancel and resume at period end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from monetization.billing.changes import ChangeResult, PlanChanges
from monetization.billing.decisions import FreeChange, decide_cancel, decide_resume
from monetization.billing.errors import SubscriptionBusy
from monetization.billing.model import Subscription, Transition, check_user_id
from monetization.billing.plans import Plan, PlanCatalog
from monetization.billing.store import SubscriptionStore

CAS_ATTEMPTS = 5


class Subscriptions:
    def __init__(
        self,
        store: SubscriptionStore,
        catalog: PlanCatalog,
        changes: PlanChanges,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.changes = changes
        self.clock = clock

    def get(self, user_id: str) -> Subscription:
        return self.store.get(check_user_id(user_id))

    def request(
        self, user_id: str, plan_id: str, payment_method: str, *, principal: str, key: str
    ) -> ChangeResult:
        """Subscribe, upgrade (charged now) or schedule a downgrade. Raises PaymentError
        (nothing changed), SubscriptionStateConflict, SubscriptionBusy, UnknownPlan."""
        return self.changes.request(
            check_user_id(user_id), plan_id, payment_method, principal=principal, key=key
        )

    def cancel(self, user_id: str) -> Subscription:
        """At the period's end (a past-due subscription ends now). A repeat: the state."""
        return self._free_change(check_user_id(user_id), decide_cancel)

    def resume(self, user_id: str) -> Subscription:
        """Undo a scheduled cancel or downgrade. A repeat answers with the current state."""
        return self._free_change(check_user_id(user_id), decide_resume)

    def _free_change(
        self, user_id: str, decide: Callable[[Subscription, Plan], FreeChange]
    ) -> Subscription:
        for _ in range(CAS_ATTEMPTS):
            sub = self.store.get(user_id)
            decision = decide(sub, self.catalog.plan(sub.plan_id))
            if decision.event is None:
                return sub
            if sub.change_id is not None:
                raise SubscriptionBusy("a paid change of this subscription is in progress")
            transition = Transition(decision.event, sub, decision.after, self.clock())
            if self.store.apply([transition]):
                return self.store.get(user_id)
        raise SubscriptionBusy("the subscription kept changing: retry")
