"""An instructor's earnings: the balances from the ledger, the breakdown from the sales.

``pending`` is the share of sales still inside their refund window; ``available`` what may
be paid out (after open payout holds); ``payout_pending`` what open payouts reserve;
``paid_out`` the completed payouts; ``receivable`` what the instructor owes after a refund
past the window; ``lifetime`` every share earned by sales not refunded. By course and by
UTC month: sales, refunds, gross and the instructor's shares, pending vs released.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from ledger import Ledger, NotFound
from monetization.marketplace import accounts
from monetization.marketplace.model import PurchaseStatus
from monetization.marketplace.payouts import Payouts
from monetization.marketplace.release import Releases
from monetization.marketplace.tables import market_courses, market_payouts, market_purchases

Pu = market_purchases
S = PurchaseStatus
BY_COURSE_MAX = 500
MONTHS_MAX = 120
UNRELEASED = frozenset({S.COMPLETED.value, S.RELEASING.value, S.REFUNDING.value})


@dataclass(slots=True)
class Tally:
    """Sales of one course or one month (cents)."""

    sales: int = 0
    refunds: int = 0
    gross: int = 0  # price of the sales not refunded
    earned: int = 0  # the instructor's share of those
    pending: int = 0  # of which still inside the refund window
    released: int = 0  # of which moved to available
    paid_out: int = 0  # payouts completed (by month only)


@dataclass(frozen=True, slots=True)
class Earnings:
    instructor_id: str
    pending: int
    available: int
    payout_pending: int
    paid_out: int
    receivable: int
    lifetime: int
    by_course: list[tuple[str, str, Tally]]  # (course id, title, tally)
    by_month: list[tuple[str, Tally]]  # ("YYYY-MM", tally), newest first


def _month(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


class EarningsReport:
    def __init__(
        self, engine: Engine, ledger: Ledger, payouts: Payouts, releases: Releases
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.payouts = payouts
        self.releases = releases

    def of(self, instructor_id: str) -> Earnings:
        courses: dict[str, Tally] = {}
        months: dict[str, Tally] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    Pu.c.course_id,
                    Pu.c.status,
                    Pu.c.price_cents,
                    Pu.c.instructor_share_cents,
                    Pu.c.created_at,
                ).where(
                    Pu.c.instructor_id == instructor_id,
                    Pu.c.price_cents > 0,
                    Pu.c.status != S.PENDING.value,
                )
            )
            for row in rows:
                for tally in (
                    courses.setdefault(row.course_id, Tally()),
                    months.setdefault(_month(row.created_at), Tally()),
                ):
                    _count(tally, row.status, int(row.price_cents), int(row.instructor_share_cents))
            titles = dict(
                conn.execute(
                    select(market_courses.c.id, market_courses.c.title).where(
                        market_courses.c.instructor_id == instructor_id
                    )
                ).all()
            )
            paid = conn.execute(
                select(market_payouts.c.amount_cents, market_payouts.c.resolved_at).where(
                    market_payouts.c.instructor_id == instructor_id,
                    market_payouts.c.status == "completed",
                )
            )
            for amount, at in paid:
                months.setdefault(_month(at), Tally()).paid_out += int(amount)
        pending, available, held = self._balances(instructor_id)
        ranked = sorted(courses.items(), key=lambda kv: (-kv[1].gross, kv[0]))[:BY_COURSE_MAX]
        return Earnings(
            instructor_id=instructor_id,
            pending=pending,
            available=available,
            payout_pending=held,
            paid_out=self.payouts.paid_out(instructor_id),
            receivable=self.releases.owed(instructor_id),
            lifetime=sum(t.earned for t in courses.values()),
            by_course=[(cid, titles.get(cid, ""), t) for cid, t in ranked],
            by_month=sorted(months.items(), reverse=True)[:MONTHS_MAX],
        )

    def _balances(self, instructor_id: str) -> tuple[int, int, int]:
        try:
            pending = self.ledger.balance(accounts.pending(instructor_id)).balance
            free = self.ledger.balance(accounts.available(instructor_id))
        except NotFound:
            return 0, 0, 0
        return pending, free.available, free.pending_out


def _count(tally: Tally, status: str, price: int, share: int) -> None:
    tally.sales += 1
    if status == S.REFUNDED.value:
        tally.refunds += 1
        return
    tally.gross += price
    tally.earned += share
    if status in UNRELEASED:
        tally.pending += share
    else:
        tally.released += share
