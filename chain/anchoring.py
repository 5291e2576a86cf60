"""The anchoring worker: puts the token log's root on chain, round after round.

A round, under a leader lock taken for that round only (so ``azora anchor --once`` works
beside a running service):

0. **Halted?** An open ``refused`` or ``inconsistent-log`` alert stops every round until an
   operator clears it (:meth:`AnchorWorker.resume`): a refusal is never retried in a storm.
1. **Reconcile with the chain, both ways** (the chain is the truth): an anchor the contract
   holds that the table does not know as confirmed is recorded (a crash after sending is
   healed here); an anchor the table calls confirmed that the chain no longer holds (a
   rollback, a reorg) is demoted: back in flight when its signed bytes are recorded (the
   saga sends them again), dropped otherwise; a ``rollback`` alert stays open until the
   chain agrees with the table again.
2. **Finish what is in flight** through the chain-write saga (:mod:`chain.saga`), lowest
   nonce first: confirmed, failed, dropped, or the same bytes sent again; a nonce gap below
   them is closed once it has lasted. An anchor whose max fee fell below the next base fee
   (a spike) is signed again at its nonce with bumped fees, recorded, and sent instead; fees
   above the cap (``FeeAboveCap``) raise a ``fee-cap`` alert and the loop backs off.
3. **Anchor anew** when nothing is in flight and the log has grown (after the interval,
   sooner past a size threshold, or at once with ``now``): the root at the log's current
   size and the consistency proof from the last anchor *read from the chain*, both checked
   locally, the size pinned (the last leaf's inclusion under the root), simulated, signed,
   recorded, sent, waited for. A simulation the contract refuses raises a ``refused``
   alert and halts: the worker never sends what the chain would revert.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account import Account
from sqlalchemy import Engine, select

from chain.anchor_table import AnchorTable
from chain.errors import ChainError, FeeAboveCap, TransactionReverted, TransactionTimeout
from chain.health import HALTING, HEALING, WorkerStatus, clear_alerts, open_alerts, raise_alert
from chain.leader import leader_lock
from chain.redact import redact_text
from chain.saga import ChainWrite, ChainWriteSaga, TxState
from chain.tables import anchors
from chain.token import AzoraToken
from ledger.merkle import verify_consistency, verify_inclusion
from ledger.tokenlog import TokenLog

log = logging.getLogger(__name__)

BACKOFF_MAX_S = 60.0
UNFUNDED_MARK = "insufficient funds"  # geth, anvil, besu and nethermind all say so
IN_FLIGHT_MAX = 16  # rows the saga advances per round
RECHECK_TAIL = 8  # confirmed anchors compared with the chain every round (reorgs hit the tail)
MINED_REVERTS_MAX = 3  # anchors reverted on chain in a row before anchoring halts


@dataclass(frozen=True)
class AnchorSettings:
    interval_s: float = 60.0
    size_threshold: int = 10_000  # anchor sooner once this many leaves wait

    def __post_init__(self) -> None:
        assert self.interval_s > 0 and self.size_threshold > 0


@dataclass(frozen=True)
class RoundResult:
    # not-leader | halted | idle | not-due | waiting | resubmitted | replaced | anchored
    # | confirmed | dropped | failed
    action: str
    tree_size: int | None = None
    detail: str = ""


class InconsistentLog(ChainError):
    """The log's new root does not extend the last anchored one: never anchor that."""


class AnchorWorker:
    """Rounds of anchoring for one contract, writing through the process's one sender."""

    def __init__(
        self,
        engine: Engine,
        token: AzoraToken,
        saga: ChainWriteSaga,
        settings: AnchorSettings | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        status: WorkerStatus | None = None,
    ) -> None:
        if token.sender is None:
            raise ChainError("the anchoring worker needs a signing key (ANCHOR_ROLE)")
        assert saga.sender is token.sender, "one sender per key: the saga's and the token's"
        self.engine = engine
        self.token = token
        self.sender = token.sender
        self.saga = saga
        self.settings = settings or AnchorSettings()
        self.clock = clock
        self.status = status or WorkerStatus()
        self.log = TokenLog(engine)
        self.chain_id = self.sender.chain_id()
        self.contract = token.address
        self.table = AnchorTable(engine, self.chain_id, self.contract, clock)
        self._mined_reverts = 0

    # --- rounds ----------------------------------------------------------------------

    def run_once(self, *, now: bool = False) -> RoundResult:
        """One round. ``now``: anchor every new leaf at once (``azora anchor --once``);
        otherwise the interval and the size threshold pace new anchors."""
        with leader_lock(self.engine) as leader:
            if not leader:
                return RoundResult("not-leader")
            halt = self.halted()
            if halt is not None:
                return RoundResult("halted", None, halt)
            confirmed = self.reconcile()
            finished = self._finish_in_flight()
            if finished is not None:
                return finished
            result = self._anchor_new(now)
            self._clear_healed()
            if confirmed and result.action in ("idle", "not-due"):
                # Nothing new to anchor, but an earlier attempt landed: say so.
                return RoundResult("confirmed", result.tree_size, f"{confirmed} anchor(s)")
            return result

    def run_forever(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Rounds until ``stop`` is set; backs off (bounded) while the chain is unreachable."""
        failures = 0
        while not stop.is_set():
            try:
                result = self.run_once()
                failures = 0
                self.status.ran(result.action, self.clock())
                if result.action not in ("idle", "not-due", "not-leader", "waiting", "halted"):
                    log.info("anchoring: %s %s %s", result.action, result.tree_size, result.detail)
                wait_s = poll_s if result.action != "halted" else BACKOFF_MAX_S
            except Exception as error:  # keep the loop alive through outages and bugs
                failures += 1
                wait_s = min(BACKOFF_MAX_S, poll_s * 2**failures)
                reason = redact_text(str(error))
                self.status.failed(f"{type(error).__name__}: {reason}", self.clock())
                log.warning("anchoring round failed (retry in %.0fs): %s", wait_s, reason)
                if UNFUNDED_MARK in reason.lower():
                    self._unfunded(reason)
                elif isinstance(error, FeeAboveCap):
                    self._fee_cap(reason)
            stop.wait(wait_s)

    # --- alerts --------------------------------------------------------------------------

    def halted(self) -> str | None:
        """Why anchoring is halted (an open refused / inconsistent-log alert), or None."""
        for alert in open_alerts(self.engine, self.chain_id, self.contract):
            if alert.halts:
                return f"{alert.kind}: {alert.detail} (clear with `azora anchor --resume`)"
        return None

    def resume(self) -> int:
        """The operator's act after a halt: clears the halting alerts; how many were open."""
        cleared = clear_alerts(
            self.engine, self.chain_id, self.contract, kinds=HALTING, now=self.clock()
        )
        self._mined_reverts = 0
        if cleared:
            log.warning("anchoring resumed by the operator (%d alert(s) cleared)", cleared)
        return cleared

    def _alert(self, kind: str, detail: str) -> None:
        if raise_alert(
            self.engine, self.chain_id, self.contract, kind=kind, detail=detail, now=self.clock()
        ):
            level = logging.ERROR if kind in HALTING else logging.WARNING
            log.log(level, "ALERT anchoring %s on %s: %s", kind, self.contract, detail)

    def _unfunded(self, reason: str) -> None:
        """The node refused the send for gas: an alert an operator sees (/readyz, /metrics),
        cleared by itself once an anchor lands; the loop keeps its bounded backoff."""
        with contextlib.suppress(Exception):  # the database may be the next thing down
            self._alert(
                "unfunded",
                f"the anchoring key {self.sender.address} cannot pay for gas; fund it "
                f"(retrying with backoff up to {BACKOFF_MAX_S:.0f} s): {reason}",
            )

    def _fee_cap(self, reason: str) -> None:
        """The chain's fees passed the cap: nothing is signed (or re-signed) above it; an
        alert, the loop's bounded backoff, and it clears by itself once an anchor lands."""
        with contextlib.suppress(Exception):
            self._alert(
                "fee-cap",
                f"anchoring waits for fees to fall below the cap (retrying with backoff up "
                f"to {BACKOFF_MAX_S:.0f} s): {reason}",
            )

    def _halt(self, kind: str, detail: str, size: int | None) -> RoundResult:
        self._alert(kind, detail)
        return RoundResult("halted", size, f"{kind}: {detail}")

    def _clear_healed(self) -> None:
        """The table and the chain agree again (nothing in flight, the newest confirmed row
        is the chain's newest anchor): rollback and gap alerts are over."""
        if self._in_flight(1):
            return
        count = self.token.anchor_count()
        top = self.table.top_confirmed_index()
        agree = (top is None and count == 0) or top == count - 1
        if agree and clear_alerts(
            self.engine, self.chain_id, self.contract, kinds=HEALING, now=self.clock()
        ):
            log.warning("anchoring healed: the table agrees with the chain again")

    # --- step 1: the chain is the truth, both ways ---------------------------------------

    def reconcile(self) -> int:
        """Demote confirmed rows the chain lost; record every on-chain anchor the table does
        not know as confirmed. Returns how many were newly recorded as confirmed."""
        count = self.token.anchor_count()
        self._demote_vanished(count)
        confirmed = self.table.confirmed_indexes()
        missing = [i for i in range(count) if i not in confirmed]
        if not missing:
            return 0
        events = {e.index: e for e in self.token.anchored_events(from_block=0)}
        settled = self.saga.settled_block()
        recorded = 0
        for index in missing:
            on_chain = self.token.anchor_at(index)
            event = events.get(index)
            block = event.block_number if event else None
            if block is not None and block > settled:
                continue  # not deep enough (or not finalized) yet
            self.table.record_confirmed(
                index, on_chain.tree_size, on_chain.root, event.tx_hash if event else None, block
            )
            recorded += 1
        return recorded

    def _demote_vanished(self, count: int) -> None:
        for row in self.table.confirmed_from(max(0, count - RECHECK_TAIL)):
            if row.anchor_index < count:
                held = self.token.anchor_at(row.anchor_index)
                if (held.tree_size, held.root) == (row.tree_size, bytes(row.root)):
                    continue
            back = TxState.SUBMITTED if row.raw_tx is not None else TxState.DROPPED
            self.table.demote(row.id, back)
            self._alert(
                "rollback",
                f"anchor {row.anchor_index} (tree size {row.tree_size}, {row.tx_hash}) is no "
                f"longer on chain ({count} anchors there): {back.value} again",
            )

    # --- step 2: what was signed or sent ------------------------------------------------

    def _in_flight(self, limit: int = IN_FLIGHT_MAX) -> list[Any]:
        return self.table.in_flight(limit)

    def _finish_in_flight(self) -> RoundResult | None:
        rows = self._in_flight()
        if not rows:
            return None
        results = [self._advance(row) for row in rows]
        landed = self.reconcile()
        if not self._in_flight(1):
            self._clear_healed()
            last = results[-1]
            if landed:
                return RoundResult("anchored", last.tree_size, last.detail)
            return last
        return next((r for r in results if r.action != "waiting"), results[0])

    def _advance(self, row: Any) -> RoundResult:
        if row.raw_tx is None:  # a live row without bytes cannot be sent or looked up
            self.table.set_status(row.id, TxState.DROPPED)
            return RoundResult("dropped", row.tree_size, "no signed transaction recorded")
        raw = bytes(row.raw_tx)
        signer = str(Account.recover_transaction(raw))
        write = ChainWrite(self.chain_id, signer, int(row.nonce), raw, row.tx_hash)
        verdict = self.saga.advance(write, lambda bumped: self.table.replace_tx(row.id, bumped))
        if verdict.replaced is not None:
            return RoundResult("replaced", row.tree_size, verdict.detail)
        if verdict.gap:
            self._alert("nonce-gap", f"anchor {row.tx_hash} (nonce {row.nonce}): {verdict.detail}")
        if verdict.state is TxState.FAILED:
            self.table.set_status(row.id, TxState.FAILED)
            return self._mined_revert(row.tree_size, f"{row.tx_hash} {verdict.detail}")
        if verdict.state is TxState.DROPPED:
            self.table.set_status(row.id, TxState.DROPPED)
            return RoundResult("dropped", row.tree_size, verdict.detail)
        if verdict.state is TxState.CONFIRMED:
            self._mined_reverts = 0
            return RoundResult("confirmed", row.tree_size, row.tx_hash)
        if verdict.resend:
            self.table.set_status(row.id, TxState.SUBMITTED)
            return RoundResult("resubmitted", row.tree_size, row.tx_hash)
        return RoundResult("waiting", row.tree_size, verdict.detail)

    def _mined_revert(self, size: int, detail: str) -> RoundResult:
        """An anchor the simulation accepted reverted once mined: the chain moved meanwhile
        (a stale proof, a reorg). Re-anchored next round; halts after a few in a row."""
        self._mined_reverts += 1
        if self._mined_reverts >= MINED_REVERTS_MAX:
            return self._halt("refused", f"{self._mined_reverts} anchors reverted: {detail}", size)
        return RoundResult("failed", size, detail)

    # --- step 3: a new anchor ----------------------------------------------------------

    def _last_on_chain(self) -> tuple[int, bytes] | None:
        count = self.token.anchor_count()
        if count == 0:
            return None
        last = self.token.anchor_at(count - 1)
        return last.tree_size, last.root

    def _due(self, size: int, last_size: int, now: bool) -> bool:
        if now or size - last_size >= self.settings.size_threshold:
            return True
        latest = self.table.latest_created_at()
        if latest is None:
            return True
        return bool((self.clock() - latest).total_seconds() >= self.settings.interval_s)

    def head_to_anchor(
        self, size: int, last: tuple[int, bytes] | None
    ) -> tuple[bytes, list[bytes]]:
        """The root at ``size`` and the proof from ``last`` (size, root), checked locally.

        Raises InconsistentLog when the log does not extend ``last`` or when the root does
        not pin ``size``: an RFC 9162 consistency proof does not fix the new size exactly
        (DESIGN §14), so the last leaf's inclusion at ``size`` is checked too, a path whose
        shape only the true size gives.
        """
        root = self.log.root(size)
        proof: list[bytes] = []
        if last is not None:
            proof = self.log.consistency_proof(last[0], size)
            if not verify_consistency(last[0], size, last[1], root, proof):
                raise InconsistentLog(
                    f"the log at size {size} does not extend the root anchored at size "
                    f"{last[0]}: refusing to anchor (run `azora ledger verify`)"
                )
        (tail,) = self.log.leaves(size - 1, 1)
        path = self.log.inclusion_proof(size - 1, size)
        if tail.leaf_index != size - 1 or not verify_inclusion(
            size - 1, size, tail.leaf_hash, path, root
        ):
            raise InconsistentLog(f"the root computed for size {size} does not pin that size")
        return root, proof

    def _anchor_new(self, now: bool) -> RoundResult:
        size = self.log.size()
        last = self._last_on_chain()
        last_size = last[0] if last else 0
        if size <= last_size:
            return RoundResult("idle", size)
        if not self._due(size, last_size, now):
            return RoundResult("not-due", size)
        try:
            root, proof = self.head_to_anchor(size, last)
        except InconsistentLog as error:
            return self._halt("inconsistent-log", str(error), size)
        try:
            signed = self.token.sign_anchor(size, root, proof)
        except TransactionReverted as error:  # the simulation: nothing was signed or sent
            return self._halt("refused", f"the contract refuses anchor {size}: {error}", size)
        row_id = self.table.insert_signed(size, root, signed)
        self.sender.broadcast(signed)
        self.table.set_status(row_id, TxState.SUBMITTED)
        try:
            self.token.wait(signed.tx_hash, "anchor")
        except TransactionReverted as error:
            self.table.set_status(row_id, TxState.FAILED)
            return self._mined_revert(size, str(error))
        except TransactionTimeout:
            return RoundResult("waiting", size, f"{signed.tx_hash} not mined yet")
        if self.reconcile() == 0:
            return RoundResult("waiting", size, f"{signed.tx_hash} mined, not final yet")
        self._mined_reverts = 0
        return RoundResult("anchored", size, signed.tx_hash)


def retry_after_s(engine: Engine, interval_s: float, clock: Callable[[], datetime]) -> int:
    """Seconds until the next anchoring round is due (at least 1)."""
    with engine.connect() as conn:
        latest = conn.execute(
            select(anchors.c.created_at).order_by(anchors.c.created_at.desc()).limit(1)
        ).scalar()
    if latest is None:
        return max(1, int(interval_s))
    remaining = interval_s - (clock() - latest).total_seconds()
    return max(1, int(remaining + 0.999))
