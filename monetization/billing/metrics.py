"""Business metrics for a calendar month (UTC), from the ledger and the subscriptions.

=======================  ==============================================================
``mrr``                  monthly price of every paying subscription at the month's end
                         (active or past due on a paid plan), from the subscription history
``paying_customers``     how many those are
``churn_rate``           of the customers paying at the month's start, the share no longer
                         paying at its end (null when there were none)
``payment_success_rate`` captured / attempted charges first attempted in the month
                         (null when none was attempted)
``subscription_revenue`` net USD into ``platform:revenue:subscriptions`` effective in the
                         month: charges and prorations less refunds (the ledger)
``marketplace_gross``    USD paid by buyers in ``marketplace.sale`` entries effective in
                         the month (the ledger: what left ``world:card``)
=======================  ==============================================================

``targets`` are the launch goals (10,000 USD MRR, 100 paying customers, 99.9 % payment
success, churn under 1 %), ``targets_met`` whether the month reached them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, func, select

from ledger import Ledger
from monetization.billing.ledger_reads import window_sum
from monetization.billing.model import REVENUE_ACCOUNT
from monetization.billing.periods import round_half_even
from monetization.billing.tables import billing_subscription_events as E
from monetization.payments import WORLD_CARD, AttemptLog

MARKETPLACE_SALE = "marketplace.sale"
RATE_DECIMALS = 4
TARGET_MRR_CENTS = 1_000_000
TARGET_PAYING = 100
TARGET_SUCCESS = (999, 1000)  # 99.9 %
TARGET_CHURN_BELOW = (1, 100)  # 1 %


@dataclass(frozen=True, slots=True)
class Rate:
    numerator: int
    denominator: int

    def text(self) -> str | None:
        if self.denominator == 0:
            return None
        scaled = round_half_even(self.numerator * 10**RATE_DECIMALS, self.denominator)
        whole, fraction = divmod(scaled, 10**RATE_DECIMALS)
        return f"{whole}.{fraction:0{RATE_DECIMALS}d}"

    def at_least(self, numerator: int, denominator: int) -> bool:
        return self.denominator > 0 and self.numerator * denominator >= numerator * self.denominator

    def below(self, numerator: int, denominator: int) -> bool:
        return self.denominator > 0 and self.numerator * denominator < numerator * self.denominator


@dataclass(frozen=True, slots=True)
class MonthMetrics:
    month: str
    mrr: int  # cents
    paying_customers: int
    customers_at_start: int
    churned_customers: int
    churn: Rate
    payments: Rate  # succeeded / attempted
    subscription_revenue: int  # cents
    marketplace_gross: int  # cents

    def targets_met(self) -> dict[str, bool]:
        return {
            "mrr": self.mrr >= TARGET_MRR_CENTS,
            "paying_customers": self.paying_customers >= TARGET_PAYING,
            "payment_success_rate": self.payments.at_least(*TARGET_SUCCESS),
            "churn_rate": self.churn.below(*TARGET_CHURN_BELOW),
        }


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) if month == 12 else start.replace(month=month + 1)
    return start, end


class BusinessMetrics:
    def __init__(self, engine: Engine, ledger: Ledger, attempts: AttemptLog) -> None:
        self.engine = engine
        self.ledger = ledger
        self.attempts = attempts

    def paying_at(self, at: datetime) -> dict[str, int]:
        """user id -> monthly amount, for users paying just before ``at``: each user's
        latest subscription event effective before it."""
        ranked = (
            select(
                E.c.user_id,
                E.c.mrr_cents,
                func.row_number()
                .over(partition_by=E.c.user_id, order_by=(E.c.at.desc(), E.c.id.desc()))
                .label("n"),
            )
            .where(E.c.at < at)
            .subquery()
        )
        stmt = select(ranked.c.user_id, ranked.c.mrr_cents).where(
            and_(ranked.c.n == 1, ranked.c.mrr_cents > 0)
        )
        with self.engine.connect() as conn:
            return {r.user_id: int(r.mrr_cents) for r in conn.execute(stmt)}

    def month(self, year: int, month: int) -> MonthMetrics:
        start, end = month_bounds(year, month)
        at_start, at_end = self.paying_at(start), self.paying_at(end)
        churned = len(set(at_start) - set(at_end))
        counts = self.attempts.counts(start, end)
        gross = -window_sum(self.ledger, WORLD_CARD, start, end, kinds={MARKETPLACE_SALE})
        return MonthMetrics(
            month=f"{year:04d}-{month:02d}",
            mrr=sum(at_end.values()),
            paying_customers=len(at_end),
            customers_at_start=len(at_start),
            churned_customers=churned,
            churn=Rate(churned, len(at_start)),
            payments=Rate(counts.succeeded, counts.attempted),
            subscription_revenue=window_sum(self.ledger, REVENUE_ACCOUNT, start, end),
            marketplace_gross=gross,
        )
