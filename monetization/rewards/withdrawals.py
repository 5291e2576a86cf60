"""Withdrawals: a redemption whose fulfilment is a mint of ERC-20 AZR on a chain.

The chain side (nonces, signing, broadcasting, receipts) is the chain-write saga of
``chain/`` behind the :class:`~.fulfilment.Minter` port; this module is the domain's half,
with the saga's "record, then act" ordering: the claim moves the row to ``minting``; the
mint is *signed* (not sent) and the signed bytes, nonce, signer and chain are stored with
the row (``mint_state`` signed) -- a conditional UPDATE that only a row still minting and
not being abandoned accepts; only then is it broadcast (submitted) and waited for.
Whatever a crash interrupts, :meth:`Withdrawals.settle_mint` asks the chain about the
stored transaction:

* mined and succeeded -> confirmed: the hold is posted (if the hold ended meanwhile -- the
  ledger's sweeper expired it -- the price is debited by a plain entry instead, so the
  ledger never lags the token's supply);
* mined and reverted -> failed: the hold is voided, the tokens are back;
* not mined, and its nonce used by a mined transaction -> dropped: it can never be mined;
  the hold is voided (no re-signing: the user asks again, and no second transaction for
  one withdrawal ever exists);
* not mined, nonce free -> the same bytes are broadcast again.

A row ``minting`` with no stored transaction never sent anything (the record precedes the
broadcast): after a grace period it is abandoned (failed, hold voided) by a conditional
UPDATE that the recording of a late signer then loses. While a mint is in flight, the
hold's deadline does not end the redemption: the chain does.
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
from monetization.rewards.fulfilment import Minter, MintError, MintFailed, MintPending
from monetization.rewards.model import (
    KIND_REDEEMED,
    WITHDRAWN,
    MintState,
    Redemption,
    user_account,
)
from monetization.rewards.redemption_rows import REASON_MAX_CHARS, RedemptionRows
from monetization.rewards.settling import HOLD_PRINCIPAL, Settler
from monetization.rewards.states import RedemptionStatus

log = logging.getLogger(__name__)

# A `minting` row with no recorded transaction younger than this may still be signing.
MINT_GRACE_S = 60

MinterFactory = Callable[[], Minter]


class Withdrawals:
    def __init__(
        self,
        book: Ledger,
        rows: RedemptionRows,
        settler: Settler,
        clock: Callable[[], datetime],
        minter: MinterFactory | None = None,
    ) -> None:
        self.book = book
        self.rows = rows
        self.settler = settler
        self.clock = clock
        self._minter_factory = minter
        self._minter: Minter | None = None

    def minter(self) -> Minter:
        if self._minter is None:
            if self._minter_factory is None:
                raise MintFailed("no chain is configured for withdrawals")
            self._minter = self._minter_factory()
        return self._minter

    def mint(self, r: Redemption) -> Redemption:
        """Sign, record, send and confirm the mint of ``r``, claimed (minting) by the caller."""
        assert r.eth_address is not None and r.status is RedemptionStatus.MINTING
        try:
            minter = self.minter()
            signed = minter.sign_mint(r.eth_address, r.price)
        except MintError as error:  # no chain, refused, reverted in simulation: none signed
            log.warning("withdrawal %s: mint not signed: %s", r.id, error)
            return self.settler.void_abandoned(r.id, f"mint failed: {error}")
        try:
            recorded = self.rows.record_mint(r.id, signed)
        except Exception:
            minter.discard(signed)  # not recorded, so never to be sent
            raise
        if not recorded:
            # Abandoned meanwhile (settle took it for interrupted): never send this one.
            minter.discard(signed)
            return self.settler.settle_one(r.id)
        # A crash from here on leaves a recorded transaction: settle sends or settles it.
        return self._send(self.rows.load(r.id))

    def _send(self, r: Redemption) -> Redemption:
        assert r.mint is not None
        try:
            self.minter().broadcast(r.mint)
        except MintPending as error:
            log.warning("withdrawal %s: %s (settle sends it again)", r.id, error)
            return r
        self.rows.set_mint_state(r.id, MintState.SUBMITTED)
        # A crash from here on: settle finds the receipt, or sends the same bytes again.
        return self._confirm(self.rows.load(r.id))

    def _confirm(self, r: Redemption) -> Redemption:
        assert r.tx_hash is not None
        try:
            self.minter().wait_mint(r.tx_hash)
        except MintFailed as error:
            return self._failed(r, str(error), MintState.FAILED)
        except MintPending as error:
            log.warning("withdrawal %s: mint %s not confirmed yet: %s", r.id, r.tx_hash, error)
            return self.rows.load(r.id)
        self.rows.set_mint_state(r.id, MintState.CONFIRMED)
        return self._post(self.rows.load(r.id))

    def settle_mint(self, r: Redemption) -> Redemption:
        """Finish a ``minting`` row from what the chain says about its transaction."""
        if r.mint is None:
            if self.clock() - r.updated_at < timedelta(seconds=MINT_GRACE_S):
                return r  # may still be signing in its first request's hands
            return self.settler.void_abandoned(
                r.id, "mint failed: interrupted before it was signed"
            )
        if r.mint_state is MintState.CONFIRMED:
            return self._post(r)
        if r.mint_state in (MintState.FAILED, MintState.DROPPED):
            return self.settler.resolve(r, HoldAction.VOID)  # a crash after the verdict
        if r.mint_state is None or not r.mint_state.in_flight:
            return self.settler.settle_one(r.id)
        try:
            status = self.minter().inspect(r.mint)
            if status.resend:
                self.minter().broadcast(r.mint)
                self.rows.set_mint_state(r.id, MintState.SUBMITTED)
                log.info("withdrawal %s: mint %s sent again", r.id, r.tx_hash)
                status = self.minter().inspect(r.mint)
        except MintError as error:  # chain unreachable, no minter configured...: wait
            log.warning("withdrawal %s: cannot settle mint %s yet: %s", r.id, r.tx_hash, error)
            return self.rows.load(r.id)
        if status.state is MintState.CONFIRMED:
            self.rows.set_mint_state(r.id, MintState.CONFIRMED)
            return self._post(self.rows.load(r.id))
        if status.state is MintState.FAILED:
            return self._failed(r, status.detail, MintState.FAILED)
        if status.state is MintState.DROPPED:
            return self._failed(r, f"mint dropped: {status.detail}", MintState.DROPPED)
        return self.rows.load(r.id)  # unmined (sent again) or not deep enough: next time

    def _failed(self, r: Redemption, reason: str, state: MintState) -> Redemption:
        """A recorded mint that can never succeed (reverted, dropped): void the hold. (The
        chain's verdict and the intent are written together: a crash leaves both or none.)"""
        self.rows.note(
            r.id,
            intent=RedemptionStatus.FAILED.value,
            reason=reason[:REASON_MAX_CHARS],
            mint_state=state.value,
        )
        return self.settler.resolve(self.rows.load(r.id), HoldAction.VOID)

    def _post(self, r: Redemption) -> Redemption:
        """The mint is confirmed: post the hold, or debit late if the hold ended."""
        assert r.hold_entry_id is not None
        with contextlib.suppress(HoldNotPending):
            self.book.resolve_hold(r.hold_entry_id, HoldAction.POST)
        if self.book.hold_state(r.hold_entry_id).status is HoldStatus.POSTED:
            return self.settler.settle_one(r.id)
        return self._debit_late(r)

    def _debit_late(self, r: Redemption) -> Redemption:
        """The mint landed after the hold ended (expired by the ledger's sweeper): take the
        price with a plain entry (same kind, same accounts, its own key) so the ledger's
        withdrawn balance still equals the supply. Refused (the user spent the tokens
        since): the row stays minting with the reason, reconcile shows the gap, and every
        settle tries again."""
        request = NewEntry(
            KIND_REDEEMED,
            (Posting(user_account(r.user_id), WITHDRAWN, AZR.code, r.price),),
            metadata={
                "redemption_id": r.id,
                "user_id": r.user_id,
                "item_id": r.item_id,
                "item_type": r.item_type.value,
                "tx_hash": r.tx_hash,
                "late_for_hold": r.hold_entry_id,
            },
        )
        try:
            posted = self.book.post_entry(
                request, principal=HOLD_PRINCIPAL, idempotency_key=f"{r.hold_key}:late"
            )
        except LedgerError as error:
            log.error(
                "withdrawal %s: mint %s confirmed after its hold ended, and the debit was "
                "refused: %s",
                r.id,
                r.tx_hash,
                error.detail,
            )
            reason = f"minted after the hold ended; debit refused ({error.code}), retrying"
            self.rows.note(r.id, reason=reason)
            return self.rows.load(r.id)
        fulfilment = {
            **(r.fulfilment or {}),
            "tx_hash": r.tx_hash,
            "late_entry_id": posted.entry.id,
        }
        with self.rows.write() as conn:
            self.rows.move(conn, r, RedemptionStatus.FULFILLED, fulfilment=fulfilment)
        return self.rows.load(r.id)
