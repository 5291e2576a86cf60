"""The release of matured shares, and the repayment of receivables.

A purchase whose refund window has closed is *claimed* (``completed`` to ``releasing``), its
share moved by ``marketplace.release`` from ``instructor:{id}:pending`` to
``instructor:{id}:available`` (key ``market:release:{purchase}``, one entry ever), then
marked ``released``. A run is bounded (``release_batch_size`` a round) and safe to run in
every process at once: a claim is a compare-and-set, so each share moves once. A claim a
crash left behind is taken up again after ``stale_after_s`` with the same key.

After releasing, an instructor who owes the platform (a refund after the window, see
refunds.py) repays it from ``available`` first: :meth:`Releases.settle`, one settlement at
a time per instructor (a lease in ``market_instructors``), keyed by the receivable's journal
position so two settlers that read the same balance post one entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ledger import USD, Ledger, LedgerError, NewEntry, NotFound, Posted, Posting
from monetization.marketplace import accounts
from monetization.marketplace.config import MarketplaceConfig
from monetization.marketplace.model import PurchaseStatus
from monetization.marketplace.store import begin_write
from monetization.marketplace.tables import market_instructors, market_purchases

log = logging.getLogger(__name__)
Pu = market_purchases
I = market_instructors  # noqa: E741
S = PurchaseStatus
LEASE_S = 60.0
ROUNDS_MAX = 1000  # a run stops after this many batches (the next round goes on)


class Releases:
    def __init__(
        self,
        *,
        engine: Engine,
        ledger: Ledger,
        opener: accounts.AccountOpener,
        config: MarketplaceConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.opener = opener
        self.config = config
        self.clock = clock

    def release_due(self, now: datetime | None = None) -> int:
        """Release every share whose window closed by ``now`` (default: the clock's now);
        returns how many were released."""
        at = now or self.clock()
        released = 0
        for _ in range(ROUNDS_MAX):
            rows = self._claim(at)
            if not rows:
                break
            released += self._move(rows, at)
            for instructor in sorted({r.instructor_id for r in rows}):
                self.settle(instructor)
            if len(rows) < self.config.release_batch_size:
                break
        return released

    def _claim(self, at: datetime) -> list[Any]:
        stale = self.clock() - timedelta(seconds=self.config.stale_after_s)
        due = or_(
            (Pu.c.status == S.COMPLETED.value) & (Pu.c.refundable_until <= at),
            (Pu.c.status == S.RELEASING.value) & (Pu.c.updated_at < stale),
        )
        with self.engine.connect() as conn:
            ids = (
                conn.execute(
                    select(Pu.c.id)
                    .where(Pu.c.price_cents > 0, due)
                    .order_by(Pu.c.refundable_until)
                    .limit(self.config.release_batch_size)
                )
                .scalars()
                .all()
            )
        if not ids:
            return []
        with begin_write(self.engine) as conn:
            return list(
                conn.execute(
                    update(Pu)
                    .where(Pu.c.id.in_(ids), due)
                    .values(status=S.RELEASING.value, updated_at=self.clock())
                    .returning(
                        Pu.c.id, Pu.c.course_id, Pu.c.instructor_id, Pu.c.instructor_share_cents
                    )
                ).all()
            )

    def _move(self, rows: list[Any], at: datetime) -> int:
        items: list[tuple[NewEntry, str | None]] = []
        moving = [r for r in rows if int(r.instructor_share_cents) > 0]
        for row in moving:
            self.opener.instructor(row.instructor_id)
            items.append((_release_entry(row), f"market:release:{row.id}"))
        outcomes = self.ledger.post_entries(items, principal=accounts.LEDGER_PRINCIPAL)
        entry_of: dict[str, str | None] = {r.id: None for r in rows}
        for row, outcome in zip(moving, outcomes, strict=True):
            if isinstance(outcome, Posted):
                entry_of[row.id] = outcome.entry.id
            else:  # left claimed: taken up again once stale
                log.error("release of %s refused: %s", row.id, outcome.detail)
                del entry_of[row.id]
        with begin_write(self.engine) as conn:
            for purchase_id, entry_id in entry_of.items():
                conn.execute(
                    update(Pu)
                    .where(Pu.c.id == purchase_id, Pu.c.status == S.RELEASING.value)
                    .values(
                        status=S.RELEASED.value,
                        release_entry_id=entry_id,
                        released_at=at,
                        updated_at=self.clock(),
                    )
                )
        return len(entry_of)

    # --- receivables -----------------------------------------------------------------

    def owed(self, instructor_id: str) -> int:
        """What the instructor owes the platform (cents, >= 0)."""
        try:
            return max(0, -self.ledger.balance(accounts.receivable(instructor_id)).balance)
        except NotFound:
            return 0

    def settle(self, instructor_id: str) -> int:
        """Repay the receivable from available as far as it goes; returns the cents repaid."""
        if self.owed(instructor_id) == 0 or not self._lease(instructor_id):
            return 0
        try:
            debt = self.ledger.balance(accounts.receivable(instructor_id))
            free = self.ledger.balance(accounts.available(instructor_id)).available
            amount = min(max(0, -debt.balance), max(0, free))
            if amount == 0:
                return 0
            entry = NewEntry(
                accounts.KIND_SETTLE,
                (
                    Posting(
                        accounts.available(instructor_id),
                        accounts.receivable(instructor_id),
                        USD.code,
                        amount,
                    ),
                ),
                metadata={"instructor_id": instructor_id},
                identity={"instructor_id": instructor_id, "receivable_seq": debt.last_seq},
            )
            self.ledger.post_entry(
                entry,
                principal=accounts.LEDGER_PRINCIPAL,
                idempotency_key=f"market:settle:{instructor_id}:{debt.last_seq}",
            )
            return amount
        except LedgerError as error:  # e.g. a payout took it meanwhile: the next run retries
            log.warning("settlement of %s deferred: %s", instructor_id, error.detail)
            return 0
        finally:
            self._unlease(instructor_id)

    def _lease(self, instructor_id: str) -> bool:
        now = self.clock()
        with begin_write(self.engine) as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(
                dialect.insert(I)
                .values(user_id=instructor_id, published_count=0)
                .on_conflict_do_nothing()
            )
            taken = conn.execute(
                update(I)
                .where(
                    I.c.user_id == instructor_id,
                    or_(I.c.settle_lease_until.is_(None), I.c.settle_lease_until < now),
                )
                .values(settle_lease_until=now + timedelta(seconds=LEASE_S))
            ).rowcount
        return taken == 1

    def _unlease(self, instructor_id: str) -> None:
        with begin_write(self.engine) as conn:
            conn.execute(
                update(I).where(I.c.user_id == instructor_id).values(settle_lease_until=None)
            )


def _release_entry(row: Any) -> NewEntry:
    share = int(row.instructor_share_cents)
    return NewEntry(
        accounts.KIND_RELEASE,
        (
            Posting(
                accounts.pending(row.instructor_id),
                accounts.available(row.instructor_id),
                USD.code,
                share,
            ),
        ),
        metadata={
            "purchase_id": row.id,
            "course_id": row.course_id,
            "instructor_id": row.instructor_id,
        },
        identity={"purchase_id": row.id, "step": "release"},
    )
