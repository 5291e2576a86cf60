"""Refunds: within the window the sale is reversed and access revoked (DESIGN §12).

A refund first *claims* the purchase (``completed`` to ``refunding``, a compare-and-set that
a release can never pass at the same time), then gives the money back through the payments
service (the provider's refund and ``marketplace.refund``: the sale's amounts from
``instructor:{id}:pending`` and ``platform:revenue:marketplace`` back to ``world:card``), then
marks it ``refunded`` with the course's purchase count in one transaction. A repeat answers
the current state; a crash half-way is finished by the next call or the maintenance round.

**After the window** (an admin's decision, e.g. a chargeback) the share may already be
released, even paid out. The rule: ``marketplace.clawback`` first brings the share back to
``pending`` — from ``instructor:{id}:available`` as far as its available balance (after open
payout holds) covers it, the rest from ``instructor:{id}:receivable``, the one instructor
account that may go negative: what the instructor owes. ``available`` itself never goes
negative. The receivable is repaid from ``available`` before anything else can leave it
(``marketplace.settle``, run after every release and before every payout).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from ledger import USD, InsufficientFunds, Ledger, LedgerError, NewEntry, Posting
from monetization.marketplace import accounts
from monetization.marketplace.config import MarketplaceConfig
from monetization.marketplace.courses import Courses
from monetization.marketplace.errors import PurchaseStateConflict, RefundWindowClosed
from monetization.marketplace.model import Purchase, PurchaseStatus
from monetization.marketplace.purchases import Purchases, check_purchase_id
from monetization.marketplace.store import begin_write
from monetization.marketplace.tables import market_purchases
from monetization.payments import Payments

Pu = market_purchases
S = PurchaseStatus
CLAWBACK_ATTEMPTS = 5


class Refunds:
    def __init__(
        self,
        *,
        engine: Engine,
        ledger: Ledger,
        purchases: Purchases,
        courses: Courses,
        payments: Payments,
        opener: accounts.AccountOpener,
        config: MarketplaceConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.purchases = purchases
        self.courses = courses
        self.payments = payments
        self.opener = opener
        self.config = config
        self.clock = clock

    def refund(self, purchase_id: str, *, after_window: bool = False) -> Purchase:
        """Refund within the window; ``after_window`` (admins only) past it, by the rule
        above. Raises :class:`RefundWindowClosed`, :class:`PurchaseStateConflict`."""
        purchase = self.purchases.get(check_purchase_id(purchase_id))
        if purchase.status is S.REFUNDED:
            return purchase
        if purchase.status is S.REFUNDING:
            return self._finish(purchase_id)
        now = self.clock()
        in_window = now < purchase.refundable_until
        if not in_window and not after_window:
            raise RefundWindowClosed(
                f"the refund window closed at {purchase.refundable_until.isoformat()}"
            )
        sources = [S.COMPLETED.value, *([S.RELEASED.value] if after_window else [])]
        stmt = update(Pu).where(Pu.c.id == purchase_id, Pu.c.status.in_(sources))
        if not after_window:
            stmt = stmt.where(Pu.c.refundable_until > now)
        with begin_write(self.engine) as conn:
            claimed = conn.execute(
                stmt.values(status=S.REFUNDING.value, after_window=not in_window, updated_at=now)
            ).rowcount
        if claimed != 1:
            again = self.purchases.get(purchase_id)
            if again.status in (S.REFUNDED, S.REFUNDING):
                return self.refund(purchase_id, after_window=after_window)
            raise PurchaseStateConflict(
                f"the purchase is {again.status.value}: it cannot be refunded now"
            )
        return self._finish(purchase_id)

    def _finish(self, purchase_id: str) -> Purchase:
        with self.engine.connect() as conn:
            row = conn.execute(select(Pu).where(Pu.c.id == purchase_id)).one()
        if row.status != S.REFUNDING.value:
            return self.purchases.get(purchase_id)
        clawback_id = refund_id = None
        if int(row.price_cents) > 0:
            if row.release_entry_id is not None:
                clawback_id = self._clawback(row)
            refund_id = self._give_back(row)
        with begin_write(self.engine) as conn:
            done = conn.execute(
                update(Pu)
                .where(Pu.c.id == purchase_id, Pu.c.status == S.REFUNDING.value)
                .values(
                    status=S.REFUNDED.value,
                    refund_entry_id=refund_id,
                    clawback_entry_id=clawback_id,
                    refunded_at=self.clock(),
                    updated_at=self.clock(),
                )
            ).rowcount
            if done == 1:
                self.courses.set_counts(conn, row.course_id, purchases=-1)
        return self.purchases.get(purchase_id)

    def _give_back(self, row: Any) -> str:
        posted = self.payments.refund(
            row.entry_id,
            int(row.price_cents),
            key=f"market:refund:{row.id}",
            kind=accounts.KIND_REFUND,
            metadata={
                "purchase_id": row.id,
                "course_id": row.course_id,
                "buyer_id": row.buyer_id,
                "instructor_id": row.instructor_id,
            },
        )
        return posted.entry.id

    def _clawback(self, row: Any) -> str | None:
        """Bring a released share back to pending: from available as far as it goes, the
        rest from the receivable (which goes negative by exactly that)."""
        share, instructor = int(row.instructor_share_cents), row.instructor_id
        if share == 0:
            return None
        self.opener.instructor(instructor)
        for _ in range(CLAWBACK_ATTEMPTS):
            free = max(0, self.ledger.balance(accounts.available(instructor)).available)
            take = min(free, share)
            legs = (
                (accounts.available(instructor), take),
                (accounts.receivable(instructor), share - take),
            )
            entry = NewEntry(
                accounts.KIND_CLAWBACK,
                tuple(
                    Posting(source, accounts.pending(instructor), USD.code, cents)
                    for source, cents in legs
                    if cents > 0
                ),
                metadata={
                    "purchase_id": row.id,
                    "instructor_id": instructor,
                    "from_available": str(take),
                    "from_receivable": str(share - take),
                },
                identity={"purchase_id": row.id, "step": "clawback"},
            )
            try:
                posted = self.ledger.post_entry(
                    entry,
                    principal=accounts.LEDGER_PRINCIPAL,
                    idempotency_key=f"market:clawback:{row.id}",
                )
            except InsufficientFunds:
                continue  # a payout took some of it meanwhile: look again
            return posted.entry.id
        raise PurchaseStateConflict("the instructor's balance kept changing: retry the refund")

    def recover_stale(self, limit: int = 100) -> int:
        """Finish refunds a crash left half-done (the maintenance round calls this)."""
        cutoff = self.clock() - timedelta(seconds=self.config.stale_after_s)
        with self.engine.connect() as conn:
            ids = (
                conn.execute(
                    select(Pu.c.id)
                    .where(Pu.c.status == S.REFUNDING.value, Pu.c.updated_at < cutoff)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        done = 0
        for purchase_id in ids:
            try:
                self._finish(purchase_id)
                done += 1
            except LedgerError:
                continue
        return done
