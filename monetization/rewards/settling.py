"""Settling: bring a redemption row in line with its hold, after anything.

The row's final status is *derived from the hold* (:data:`~.states.OUTCOMES`): posted ->
fulfilled, voided -> the recorded intent, expired -> expired. :meth:`Settler.settle_one`
looks up the next step for the row and its hold (:func:`~.states.settle_step`), runs it,
reads the row again, and stops when the table says there is nothing to do: idempotent, and
safe after any crash or from many processes at once (each step is a conditional write).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from ledger import (
    AZR,
    HoldAction,
    HoldNotPending,
    HoldStatus,
    Ledger,
    LedgerError,
    NewEntry,
    Posting,
)
from monetization.rewards.accounts import AccountOpener
from monetization.rewards.errors import RedemptionNotFound
from monetization.rewards.fulfilment import FULFILLERS
from monetization.rewards.model import (
    KIND_REDEEMED,
    REDEEMED,
    WITHDRAWN,
    ItemType,
    Redemption,
)
from monetization.rewards.redemption_rows import RedemptionRows, restock
from monetization.rewards.states import RedemptionStatus, Step, needs_hold, outcome, settle_step
from monetization.rewards.tables import reward_redemptions

log = logging.getLogger(__name__)

HOLD_PRINCIPAL = "rewards:redemptions"
# A `requested` row younger than this may still be in its first request's hands.
REQUESTED_GRACE_S = 30
# Every step moves a row closer to final; more than this many in one call is a bug.
STEPS_MAX = 8


class Settler:
    def __init__(
        self,
        book: Ledger,
        accounts: AccountOpener,
        rows: RedemptionRows,
        clock: Callable[[], datetime],
    ) -> None:
        self.book = book
        self.accounts = accounts
        self.rows = rows
        self.clock = clock
        self._steps: dict[Step, Callable[[Redemption, HoldStatus | None], None]] = {
            Step.POST_HOLD: self._post_requested,
            Step.ABANDON_MINT: self._abandon_expired_mint,
            Step.EXPIRE_HOLD: self._expire_hold,
            Step.FINISH: self._finish,
        }

    def settle_one(self, redemption_id: str) -> Redemption:
        """The row, after running every step the table names for it now."""
        for _ in range(STEPS_MAX):
            r = self.rows.load(redemption_id)
            hold = None
            if needs_hold(r):
                assert r.hold_entry_id is not None
                hold = self.book.hold_state(r.hold_entry_id).status
            step = settle_step(r, hold, self.clock(), timedelta(seconds=REQUESTED_GRACE_S))
            if step is Step.DONE:
                return r
            self._steps[step](r, hold)
        raise AssertionError(f"redemption {redemption_id} did not settle in {STEPS_MAX} steps")

    def resolve(self, r: Redemption, action: HoldAction) -> Redemption:
        """Post or void ``r``'s hold, then settle. (A hold resolved otherwise meanwhile,
        e.g. expired, is fine: settling derives the outcome from it.)"""
        assert r.hold_entry_id is not None
        with contextlib.suppress(HoldNotPending):
            self.book.resolve_hold(r.hold_entry_id, action)
        return self.settle_one(r.id)

    def post_hold(self, r: Redemption, account: str) -> None:
        """Post the hold of requested ``r`` with its own key (the ledger deduplicates a
        second post after a crash), then move the row to held."""
        destination = WITHDRAWN if r.item_type is ItemType.ONCHAIN_WITHDRAWAL else REDEEMED
        request = NewEntry(
            KIND_REDEEMED,
            (Posting(account, destination, AZR.code, r.price),),
            metadata={
                "redemption_id": r.id,
                "user_id": r.user_id,
                "item_id": r.item_id,
                "item_type": r.item_type.value,
            },
            pending=True,
            expires_at=r.expires_at,
        )
        posted = self.book.post_hold(request, principal=HOLD_PRINCIPAL, idempotency_key=r.hold_key)
        with self.rows.write() as conn:
            self.rows.move(conn, r, RedemptionStatus.HELD, hold_entry_id=posted.entry.id)

    def void_abandoned(self, redemption_id: str, reason: str) -> Redemption:
        """Fail a claimed withdrawal that recorded no mint (so nothing was ever sent) and
        void its hold, unless a mint got recorded first (then settle as it is)."""
        if self.rows.abandon_unsigned(redemption_id, reason):
            return self.resolve(self.rows.load(redemption_id), HoldAction.VOID)
        return self.settle_one(redemption_id)

    # --- the steps -----------------------------------------------------------------------

    def _post_requested(self, r: Redemption, _hold: HoldStatus | None) -> None:
        """A row whose hold may or may not exist: post it with its key (deduplicated)."""
        try:
            self.post_hold(r, self.accounts.user(r.user_id))
        except LedgerError as error:
            log.info("redemption %s: hold refused on settling (%s): dropped", r.id, error.code)
            self.rows.forget(r.id)
            raise RedemptionNotFound(f"redemption {r.id} was refused: {error.detail}") from None

    def _abandon_expired_mint(self, r: Redemption, _hold: HoldStatus | None) -> None:
        if self.rows.abandon_unsigned(r.id, "expired before its mint was signed"):
            assert r.hold_entry_id is not None
            with contextlib.suppress(HoldNotPending):
                self.book.resolve_hold(r.hold_entry_id, HoldAction.VOID)

    def _expire_hold(self, r: Redemption, _hold: HoldStatus | None) -> None:
        assert r.hold_entry_id is not None
        with contextlib.suppress(HoldNotPending):
            self.book.resolve_hold(r.hold_entry_id, HoldAction.VOID)  # records the expiry

    def _finish(self, r: Redemption, hold: HoldStatus | None) -> None:
        """Move the row to the outcome of its ended hold, with the fulfilment (or the
        restock) in the same transaction: each happens exactly once."""
        assert hold is not None and hold is not HoldStatus.PENDING
        final = outcome(hold, r.intent)
        now = self.clock()
        c = reward_redemptions.c
        # The intent we derived the outcome from is still the row's (an action's claim
        # between our reading the row and its hold would change the outcome).
        where = [c.intent.is_(None) if r.intent is None else c.intent == r.intent.value]
        if r.tx_hash is None:  # a mint recorded since we looked: the chain decides, not us
            where.append(c.tx_hash.is_(None))
        with self.rows.write() as conn:
            if not self.rows.move(conn, r, final, *where):
                return
            if final is RedemptionStatus.FULFILLED:
                summary = FULFILLERS[r.item_type].complete(conn, r, now)
                conn.execute(
                    reward_redemptions.update()
                    .where(reward_redemptions.c.id == r.id)
                    .values(fulfilment={**(r.fulfilment or {}), **summary})
                )
            else:
                restock(conn, r.item_id)
