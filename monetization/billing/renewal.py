"""The billing run: renew what is due, retry what failed, end what was canceled.

``run(now)`` walks the due subscriptions in batches (keyset on ``(due_at, user_id)``):
each batch is decided purely (:func:`decide_due`), charged through the payments port,
recorded with one batch of ledger posts (``Ledger.post_entries``) and applied with
compare-and-set updates in one transaction.

Exactly one charge per subscription per period, even with two runs at once: the ledger
key is ``billing:renew:{user}:{period start}`` (one entry per period, ever) and the
provider key adds the attempt number (one charge per attempt); the run that loses the
compare-and-set counts nothing. A declined renewal makes the subscription ``past_due``
with retries ``retry_days`` after the period's end; the last one falls at the end of the
grace period, and when it fails too the subscription is back on ``free`` (``canceled``).
An unavailable provider changes nothing: the next run tries the same charge again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ledger import LedgerError
from monetization.billing.config import BillingConfig
from monetization.billing.decisions import PeriodEnd, Renewal, decide_due
from monetization.billing.model import KIND_CHARGE, REVENUE_ACCOUNT, Subscription, Transition
from monetization.billing.plans import PlanCatalog
from monetization.billing.states import Event
from monetization.billing.store import SubscriptionStore
from monetization.payments import (
    Captured,
    PaymentDeclined,
    PaymentProviderUnavailable,
    PaymentRequest,
    Payments,
)

log = logging.getLogger(__name__)

DOWNGRADES = frozenset({Event.END, Event.SWITCH_TO_FREE, Event.EXPIRE})
FAILURES = frozenset({Event.RENEWAL_FAILED, Event.EXPIRE})  # an expiry follows a decline
BATCHES_MAX = 10_000  # a bound on one run: 10 million subscriptions
# A run catches up at most this many missed periods per subscription (a run years late,
# or a hostile --now, must still end); the next run goes on from there.
CATCH_UP_PERIODS_MAX = 24


@dataclass(slots=True)
class RunReport:
    charged: int = 0
    failed: int = 0
    downgraded: int = 0

    def add(self, other: RunReport) -> None:
        self.charged += other.charged
        self.failed += other.failed
        self.downgraded += other.downgraded

    def line(self) -> str:
        return (
            f"billing: {self.charged} charged, {self.failed} failed, {self.downgraded} downgraded"
        )


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def renewal_request(r: Renewal) -> PaymentRequest:
    user = r.sub.user_id
    period = _epoch(r.period_start)
    assert r.sub.payment_method is not None, "a paid subscription keeps its payment method"
    return PaymentRequest(
        customer=user,
        amount=r.amount,
        payment_method=r.sub.payment_method,
        key=f"billing:renew:{user}:{period}:{r.attempt}",
        ledger_key=f"billing:renew:{user}:{period}",
        kind=KIND_CHARGE,
        purpose="subscription",
        destinations=((REVENUE_ACCOUNT, r.amount),),
        metadata={
            "user_id": user,
            "plan": r.plan.id,
            "event": Event.RENEW.value,
            "period_start": r.period_start.isoformat(),
            "period_end": r.period_end.isoformat(),
        },
        effective_at=r.at,
        description=f"Azora {r.plan.id} renewal",
    )


class BillingRun:
    def __init__(
        self,
        store: SubscriptionStore,
        catalog: PlanCatalog,
        payments: Payments,
        config: BillingConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.payments = payments
        self.config = config
        self.clock = clock

    def run(self, now: datetime | None = None) -> RunReport:
        """Everything due by ``now`` (default: the clock), once."""
        now = now or self.clock()
        report = RunReport()
        after: tuple[datetime, str] | None = None
        self.payments.open_accounts([REVENUE_ACCOUNT])
        seen: Counter[str] = Counter()
        for _ in range(BATCHES_MAX):
            batch = self.store.due(now, after, self.config.run_batch_size)
            if not batch:
                break
            last = batch[-1]
            assert last.due_at is not None
            after = (last.due_at, last.user_id)
            seen.update(s.user_id for s in batch)
            batch = [s for s in batch if seen[s.user_id] <= CATCH_UP_PERIODS_MAX]
            self._batch(batch, now, report)
        return report

    def _batch(self, subs: list[Subscription], now: datetime, report: RunReport) -> None:
        plans = {p.id: p for p in self.catalog.plans()}
        decided = [decide_due(s, plans, now) for s in subs]
        renewals = [d for d in decided if isinstance(d, Renewal)]
        outcomes = self.payments.collect_many([renewal_request(r) for r in renewals])
        transitions: list[Transition] = []
        unavailable = 0
        for renewal, outcome in zip(renewals, outcomes, strict=True):
            if isinstance(outcome, Captured):
                event, after = renewal.succeeded(outcome.entry.id)
                transitions.append(Transition(event, renewal.sub, after, renewal.at,
                                              renewal.amount, outcome.entry.id))  # fmt: skip
            elif isinstance(outcome, PaymentProviderUnavailable):
                unavailable += 1
            elif isinstance(outcome, PaymentDeclined | LedgerError):
                if not isinstance(outcome, PaymentDeclined):
                    log.warning("renewal of %s refused: %s", renewal.sub.user_id, outcome.detail)
                event, after = renewal.failed(self.config)
                transitions.append(Transition(event, renewal.sub, after, renewal.at))
        for end in (d for d in decided if isinstance(d, PeriodEnd)):
            transitions.append(Transition(end.event, end.sub, end.after, end.at))
        applied = self.store.apply(transitions)
        report.failed += unavailable
        for t in transitions:
            if t.before.user_id not in applied:
                continue  # another run applied it first: counted there
            report.charged += t.event is Event.RENEW
            report.failed += t.event in FAILURES
            report.downgraded += t.event in DOWNGRADES
