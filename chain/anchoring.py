"""The anchoring worker: puts the token log's root on chain, round after round.

A round, under a leader lock taken for that round only (so ``azora anchor --once`` works
beside a running service):

1. **Reconcile with the chain**, the source of truth: every anchor the contract holds that
   the ``anchors`` table does not know as confirmed is recorded (a crash after sending is
   healed here).
2. **Finish what is in flight**: an attempt that was signed or sent is looked up by hash.
   Mined → confirmed once ``confirmations`` deep (or reverted → failed). Not mined and its
   nonce still unused → the same signed bytes are sent again (same nonce, same hash).
   Its nonce taken by another transaction → dropped.
3. **Anchor anew** when nothing is in flight and the log has grown (after the interval, or
   sooner past a size threshold): compute the root at the log's current size from the
   stored nodes, check it is consistent with the last anchored root *read from the chain*,
   sign, record the signed bytes, send, wait.

Because the signed transaction is recorded before it is sent, and the contract refuses a
tree size that is not above the last one, a crash at any point neither anchors a size twice
nor loses one. While the RPC endpoint is down, rounds fail fast and the loop backs off.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.engine import make_url

from chain.errors import ChainError, TransactionReverted, TransactionTimeout
from chain.sender import SignedTx
from chain.token import AzoraToken
from ledger.merkle import verify_consistency
from ledger.store.tables import anchors
from ledger.tokenlog import TokenLog

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = zlib.crc32(b"azora-anchoring")  # pg advisory lock id
BACKOFF_MAX_S = 60.0
LIVE = ("signed", "submitted")


@dataclass(frozen=True)
class AnchorSettings:
    interval_s: float = 60.0
    size_threshold: int = 10_000  # anchor sooner once this many leaves wait
    receipt_timeout_s: float = 60.0
    # True: an anchor is confirmed once its block is at or below the chain's `finalized`
    # block (public testnets, mainnet); False: once it is `confirmations` deep.
    finalized: bool = False

    def __post_init__(self) -> None:
        assert self.interval_s > 0 and self.size_threshold > 0 and self.receipt_timeout_s > 0


@dataclass(frozen=True)
class RoundResult:
    # not-leader | idle | not-due | waiting | resubmitted | anchored | confirmed | dropped | failed
    action: str
    tree_size: int | None = None
    detail: str = ""


class InconsistentLog(ChainError):
    """The log's new root does not extend the last anchored one: never anchor that."""


@contextlib.contextmanager
def leader_lock(engine: Engine) -> Iterator[bool]:
    """One leader per round across processes: a PostgreSQL advisory lock, or a file lock
    beside the SQLite database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY}
                ).scalar_one()
            )
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
                conn.commit()
        return
    database = make_url(str(engine.url)).database or "ledger"
    path = Path(f"{database}.anchor.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class AnchorWorker:
    def __init__(
        self,
        engine: Engine,
        token: AzoraToken,
        settings: AnchorSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if token.sender is None:
            raise ChainError("the anchoring worker needs a signing key (ANCHOR_ROLE)")
        self.engine = engine
        self.token = token
        self.sender = token.sender
        self.settings = settings or AnchorSettings()
        self.clock = clock
        self.log = TokenLog(engine)
        self.chain_id = self.sender.chain_id()
        self.contract = token.address

    # --- rounds ----------------------------------------------------------------------

    def run_once(self, *, force: bool = False) -> RoundResult:
        """One round; ``force`` anchors new leaves even before the interval has passed."""
        with leader_lock(self.engine) as leader:
            if not leader:
                return RoundResult("not-leader")
            confirmed = self.reconcile()
            in_flight = self._in_flight()
            if in_flight is not None:
                return self._finish(in_flight)
            result = self._anchor_new(force)
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
                if result.action not in ("idle", "not-due", "not-leader", "waiting"):
                    log.info("anchoring: %s %s %s", result.action, result.tree_size, result.detail)
                wait_s = poll_s
            except Exception as error:  # keep the loop alive through outages and bugs
                failures += 1
                wait_s = min(BACKOFF_MAX_S, poll_s * 2**failures)
                log.warning("anchoring round failed (retry in %.0fs): %s", wait_s, error)
            stop.wait(wait_s)

    # --- step 1: the chain is the truth ------------------------------------------------

    def reconcile(self) -> int:
        """Record every on-chain anchor of this contract; returns how many were new."""
        count = self.token.anchor_count()
        with self.engine.connect() as conn:
            known = conn.execute(
                select(anchors.c.anchor_index).where(
                    anchors.c.chain_id == self.chain_id,
                    anchors.c.contract == self.contract,
                    anchors.c.status == "confirmed",
                )
            ).scalars()
            confirmed = set(known)
        missing = [i for i in range(count) if i not in confirmed]
        if not missing:
            return 0
        events = {e.index: e for e in self.token.anchored_events(from_block=0)}
        settled = self._settled_block()
        recorded = 0
        for index in missing:
            on_chain = self.token.anchor_at(index)
            event = events.get(index)
            block = event.block_number if event else None
            if block is not None and block > settled:
                continue  # not deep enough (or not finalized) yet
            self._record_confirmed(
                index, on_chain.tree_size, on_chain.root, event.tx_hash if event else None, block
            )
            recorded += 1
        return recorded

    def _record_confirmed(
        self, index: int, size: int, root: bytes, tx_hash: str | None, block: int | None
    ) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(anchors.c.id).where(
                    anchors.c.chain_id == self.chain_id,
                    anchors.c.contract == self.contract,
                    anchors.c.tree_size == size,
                    anchors.c.status.in_((*LIVE, "confirmed")),
                )
            ).first()
            values = {
                "status": "confirmed",
                "anchor_index": index,
                "block_number": block,
                "root": root,
                "updated_at": now,
            }
            if tx_hash is not None:
                values["tx_hash"] = tx_hash
            if row is not None:
                conn.execute(update(anchors).where(anchors.c.id == row.id).values(**values))
            else:
                conn.execute(
                    insert(anchors).values(
                        chain_id=self.chain_id,
                        contract=self.contract,
                        tree_size=size,
                        created_at=now,
                        **values,
                    )
                )

    # --- step 2: what was signed or sent ------------------------------------------------

    def _in_flight(self) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(anchors)
                .where(
                    anchors.c.chain_id == self.chain_id,
                    anchors.c.contract == self.contract,
                    anchors.c.status.in_(LIVE),
                )
                .order_by(anchors.c.tree_size)
                .limit(1)
            ).first()

    def _set_status(self, row_id: int, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(anchors)
                .where(anchors.c.id == row_id)
                .values(status=status, updated_at=self.clock())
            )

    def _finish(self, row: Any) -> RoundResult:
        # The mined nonce first, the receipt second: in the other order a transaction mined
        # between the two reads would look dropped.
        mined_nonce = self.sender.confirmed_nonce()
        receipt = self.sender.receipt(row.tx_hash)
        if receipt is not None:
            if receipt["status"] != 1:
                self._set_status(row.id, "failed")
                return RoundResult("failed", row.tree_size, f"{row.tx_hash} reverted")
            if self.reconcile() == 0:
                return RoundResult("waiting", row.tree_size, "mined, not deep enough yet")
            return RoundResult("anchored", row.tree_size, row.tx_hash)
        if row.nonce < mined_nonce:
            # Our nonce went to another transaction: this one can never be mined.
            self._set_status(row.id, "dropped")
            return RoundResult("dropped", row.tree_size, f"{row.tx_hash} replaced")
        self.sender.broadcast(SignedTx(row.nonce, bytes(row.raw_tx), row.tx_hash))
        self._set_status(row.id, "submitted")
        return RoundResult("resubmitted", row.tree_size, row.tx_hash)

    # --- step 3: a new anchor ----------------------------------------------------------

    def _last_on_chain(self) -> tuple[int, bytes] | None:
        count = self.token.anchor_count()
        if count == 0:
            return None
        last = self.token.anchor_at(count - 1)
        return last.tree_size, last.root

    def _due(self, size: int, last_size: int, force: bool) -> bool:
        if force or size - last_size >= self.settings.size_threshold:
            return True
        with self.engine.connect() as conn:
            latest = conn.execute(
                select(anchors.c.created_at)
                .where(anchors.c.chain_id == self.chain_id, anchors.c.contract == self.contract)
                .order_by(anchors.c.created_at.desc())
                .limit(1)
            ).scalar()
        if latest is None:
            return True
        return bool((self.clock() - latest).total_seconds() >= self.settings.interval_s)

    def _anchor_new(self, force: bool) -> RoundResult:
        size = self.log.size()
        last = self._last_on_chain()
        last_size = last[0] if last else 0
        if size <= last_size:
            return RoundResult("idle", size)
        if not self._due(size, last_size, force):
            return RoundResult("not-due", size)
        root = self.log.root(size)
        proof: list[bytes] = []
        if last is not None:
            proof = self.log.consistency_proof(last_size, size)
            if not verify_consistency(last_size, size, last[1], root, proof):
                raise InconsistentLog(
                    f"the log at size {size} does not extend the root anchored at size "
                    f"{last_size}: refusing to anchor (run `azora ledger verify`)"
                )
        signed = self.token.sign_anchor(size, root, proof)
        now = self.clock()
        with self.engine.begin() as conn:
            row_id = conn.execute(
                insert(anchors)
                .values(
                    chain_id=self.chain_id,
                    contract=self.contract,
                    tree_size=size,
                    root=root,
                    status="signed",
                    tx_hash=signed.tx_hash,
                    nonce=signed.nonce,
                    raw_tx=signed.raw,
                    created_at=now,
                    updated_at=now,
                )
                .returning(anchors.c.id)
            ).scalar_one()
        self.sender.broadcast(signed)
        self._set_status(row_id, "submitted")
        try:
            self.token.wait(signed.tx_hash, "anchor")
        except TransactionReverted as error:
            self._set_status(row_id, "failed")
            return RoundResult("failed", size, str(error))
        except TransactionTimeout:
            return RoundResult("waiting", size, f"{signed.tx_hash} not mined yet")
        if self.reconcile() == 0:
            return RoundResult("waiting", size, f"{signed.tx_hash} mined, not final yet")
        return RoundResult("anchored", size, signed.tx_hash)

    def _settled_block(self) -> int:
        """The highest block whose anchors count as confirmed."""
        w3 = self.token.w3
        if self.settings.finalized:
            return int(w3.eth.get_block("finalized")["number"])
        return int(w3.eth.block_number) - self.sender.settings.confirmations + 1


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
