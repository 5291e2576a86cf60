"""Payouts: a hold from ``instructor:{id}:available`` to ``world:payouts`` (kind
``marketplace.payout``), completed (posted) or failed (voided) by an admin.

Recorded ``requested`` under (principal, Idempotency-Key) before the hold is placed; the
hold's ledger key derives from the payout's id, so a retry after a crash finds the same hold.
A hold the ledger refuses (409 ``insufficient-funds``: available never goes negative)
deletes the record: nothing happened, the key is free again. The instructor's receivable,
if any, is repaid first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger import USD, HoldAction, HoldStatus, Ledger, LedgerError, NewEntry, Posting, check_units
from monetization.ids import UUID_RE
from monetization.marketplace import accounts
from monetization.marketplace.errors import (
    CourseNotFound,
    MarketIdempotencyConflict,
    PayoutStateConflict,
)
from monetization.marketplace.model import PAYOUT_TRANSITIONS, Payout, PayoutStatus
from monetization.marketplace.release import Releases
from monetization.marketplace.store import begin_write, payout_from_row
from monetization.marketplace.tables import market_payouts

Po = market_payouts
LIST_MAX = 500
ACTIONS = {"complete": HoldAction.POST, "fail": HoldAction.VOID}


def check_payout_id(payout_id: object) -> str:
    if not isinstance(payout_id, str) or not UUID_RE.fullmatch(payout_id):
        raise CourseNotFound("no such payout")
    return payout_id


class Payouts:
    def __init__(
        self,
        *,
        engine: Engine,
        ledger: Ledger,
        releases: Releases,
        opener: accounts.AccountOpener,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.releases = releases
        self.opener = opener
        self.clock = clock

    def request(
        self, instructor_id: str, amount: int, *, principal: str, key: str
    ) -> tuple[Payout, bool]:
        """The payout and whether it replays an earlier request with ``key``."""
        check_units(amount, USD)
        found = self._by_key(principal, key)
        if found is not None:
            return self._replay(found, instructor_id, amount), True
        self.opener.instructor(instructor_id)
        self.opener.open(accounts.WORLD_PAYOUTS)
        self.releases.settle(instructor_id)
        payout_id = str(uuid.uuid4())
        try:
            with begin_write(self.engine) as conn:
                conn.execute(
                    insert(Po).values(
                        id=payout_id,
                        instructor_id=instructor_id,
                        amount_cents=amount,
                        status=PayoutStatus.REQUESTED.value,
                        principal=principal,
                        request_key=key,
                        created_at=self.clock(),
                    )
                )
        except IntegrityError:
            again = self._by_key(principal, key)
            if again is None:
                raise
            return self._replay(again, instructor_id, amount), True
        return self._hold(payout_id), False

    def _hold(self, payout_id: str) -> Payout:
        row = self._row(payout_id)
        entry = NewEntry(
            accounts.KIND_PAYOUT,
            (
                Posting(
                    accounts.available(row.instructor_id),
                    accounts.WORLD_PAYOUTS,
                    USD.code,
                    int(row.amount_cents),
                ),
            ),
            metadata={"payout_id": row.id, "instructor_id": row.instructor_id},
            identity={"payout_id": row.id},
        )
        try:
            posted = self.ledger.post_hold(
                entry,
                principal=accounts.LEDGER_PRINCIPAL,
                idempotency_key=f"market:payout:{row.id}",
            )
        except LedgerError:
            with begin_write(self.engine) as conn:
                conn.execute(delete(Po).where(Po.c.id == payout_id, Po.c.hold_entry_id.is_(None)))
            raise
        with begin_write(self.engine) as conn:
            conn.execute(
                update(Po).where(Po.c.id == payout_id).values(hold_entry_id=posted.entry.id)
            )
        return self.get(row.instructor_id, payout_id)

    def _replay(self, row: Any, instructor_id: str, amount: int) -> Payout:
        if row.instructor_id != instructor_id or int(row.amount_cents) != amount:
            raise MarketIdempotencyConflict("this Idempotency-Key was used for another payout")
        if row.hold_entry_id is None:  # in flight, or a crash: the same ledger key again
            return self._hold(row.id)
        return payout_from_row(row)

    def resolve(self, instructor_id: str, payout_id: str, action: str) -> Payout:
        """``complete`` (post the hold) or ``fail`` (void it). A repeat answers the current
        state; the opposite of what was done is :class:`PayoutStateConflict`."""
        payout = self.get(instructor_id, payout_id)
        target = PAYOUT_TRANSITIONS.get((payout.status, action))
        if target is None:
            done = {"complete": PayoutStatus.COMPLETED, "fail": PayoutStatus.FAILED}[action]
            if payout.status is done:
                return payout
            raise PayoutStateConflict(f"the payout is {payout.status.value}")
        assert payout.hold_entry_id is not None
        state = self.ledger.resolve_hold(payout.hold_entry_id, ACTIONS[action])
        final = PayoutStatus.COMPLETED if state.status is HoldStatus.POSTED else PayoutStatus.FAILED
        with begin_write(self.engine) as conn:
            conn.execute(
                update(Po)
                .where(Po.c.id == payout_id, Po.c.status == PayoutStatus.REQUESTED.value)
                .values(status=final.value, resolved_at=self.clock())
            )
        resolved = self.get(instructor_id, payout_id)
        if resolved.status is not target:
            raise PayoutStateConflict(f"the payout is {resolved.status.value}")
        return resolved

    def get(self, instructor_id: str, payout_id: str) -> Payout:
        row = self._row(check_payout_id(payout_id))
        if row is None or row.instructor_id != instructor_id:
            raise CourseNotFound(f"payout {payout_id} does not exist")
        return payout_from_row(row)

    def list(self, instructor_id: str, *, limit: int, before: str | None = None) -> list[Payout]:
        assert 1 <= limit <= LIST_MAX
        stmt = select(Po).where(Po.c.instructor_id == instructor_id)
        with self.engine.connect() as conn:
            if before is not None:
                anchor = conn.execute(
                    select(Po.c.created_at, Po.c.id).where(
                        Po.c.id == check_payout_id(before), Po.c.instructor_id == instructor_id
                    )
                ).first()
                if anchor is None:
                    raise CourseNotFound("the cursor names no payout of this instructor")
                stmt = stmt.where(
                    or_(
                        Po.c.created_at < anchor.created_at,
                        and_(Po.c.created_at == anchor.created_at, Po.c.id < anchor.id),
                    )
                )
            rows = conn.execute(stmt.order_by(Po.c.created_at.desc(), Po.c.id.desc()).limit(limit))
            return [payout_from_row(r) for r in rows]

    def paid_out(self, instructor_id: str) -> int:
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(Po.c.amount_cents), 0)).where(
                    Po.c.instructor_id == instructor_id,
                    Po.c.status == PayoutStatus.COMPLETED.value,
                )
            ).scalar_one()
        return int(total)

    def _row(self, payout_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(Po).where(Po.c.id == payout_id)).first()

    def _by_key(self, principal: str, key: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(Po).where(Po.c.principal == principal, Po.c.request_key == key)
            ).first()
