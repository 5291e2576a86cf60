"""The one chain-write saga, for anchors and mints alike.

A chain write is **recorded** (the signed bytes stored by its owner: a row of ``anchors``,
a redemption's mint columns) before it is **broadcast**, so a crash at any point leaves
something to finish. Its life, in one vocabulary (:class:`TxState`)::

    signed --broadcast--> submitted --mined, settled, status 1--> confirmed
                             |  ^ not mined, nonce free: the same bytes again
                             |  +-------------------------------+
                             +--mined, settled, status 0------> failed
                             +--not mined, its nonce used-----> dropped

:meth:`ChainWriteSaga.check` says what the chain says now (the mined nonce first, the receipt
second: in the other order a transaction mined between the two reads would look dropped).
:meth:`ChainWriteSaga.advance` also acts on it: sends the same bytes again when they are not
mined and their nonce is free, and, when they wait behind a nonce the chain will never mine
(a gap: earlier transactions vanished), has the sender close the gap once it has lasted
``gap_grace_s`` (so a recorded transaction at that nonce gets the chance to be re-sent by
its own owner first).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from chain.sender import SignedTx, TransactionSender

GAP_GRACE_S = 30.0
GAPS_REMEMBERED_MAX = 10_000


class TxState(StrEnum):
    """Where a recorded chain write stands. The words of every owner's status column."""

    SIGNED = "signed"  # recorded, maybe not broadcast yet
    SUBMITTED = "submitted"  # broadcast at least once (or mined, not settled yet)
    CONFIRMED = "confirmed"  # mined, succeeded, settled (deep enough or finalized)
    FAILED = "failed"  # mined, reverted, settled: it did nothing
    DROPPED = "dropped"  # never mined, and its nonce went to another transaction

    @property
    def in_flight(self) -> bool:
        return self in (TxState.SIGNED, TxState.SUBMITTED)


@dataclass(frozen=True, slots=True)
class ChainWrite:
    """A recorded, signed transaction: enough to send the same bytes again, find its receipt
    and tell whether its nonce was used by another."""

    chain_id: int
    signer: str
    nonce: int
    raw: bytes
    tx_hash: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the chain says of a write: the state to record, and whether to send it again."""

    state: TxState
    resend: bool = False
    block_number: int | None = None
    detail: str = ""
    gap: bool = False  # not mined, and waiting behind nonces the node does not hold
    replaced: SignedTx | None = None  # sent instead, with higher fees (a fee spike)


class WrongChain(Exception):
    """The write was signed for another chain than the node serves: nothing can be said."""


class ChainWriteSaga:
    """Checks and finishes recorded writes through the process's one sender."""

    def __init__(
        self,
        sender: TransactionSender,
        settled_block: Callable[[], int],
        *,
        gap_grace_s: float = GAP_GRACE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sender = sender
        self.settled_block = settled_block
        self.gap_grace_s = gap_grace_s
        self._monotonic = monotonic
        self._gapped_since: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, write: ChainWrite) -> Verdict:
        """What became of ``write``, without waiting or sending. ChainError if the node
        cannot say; WrongChain if it serves another chain."""
        if self.sender.chain_id() != write.chain_id:
            raise WrongChain(
                f"{write.tx_hash} was signed for chain {write.chain_id}, "
                f"the node serves chain {self.sender.chain_id()}"
            )
        mined = self._mined_nonces(write.signer)
        receipt = self.sender.receipt(write.tx_hash)
        if receipt is None:
            if write.nonce < mined:
                return Verdict(
                    TxState.DROPPED,
                    detail=f"nonce {write.nonce} of {write.signer} was used by another "
                    f"transaction: {write.tx_hash} can never be mined",
                )
            gap = write.nonce > mined and write.nonce > self._pending_nonces(write.signer)
            return Verdict(TxState.SUBMITTED, resend=True, gap=gap, detail="not mined")
        block = int(receipt["blockNumber"])
        if block > self.settled_block():
            return Verdict(TxState.SUBMITTED, block_number=block, detail=f"mined in {block}")
        if receipt["status"] != 1:
            return Verdict(TxState.FAILED, block_number=block, detail=f"reverted in {block}")
        return Verdict(TxState.CONFIRMED, block_number=block, detail=f"mined in block {block}")

    def advance(
        self, write: ChainWrite, record: Callable[[SignedTx], None] | None = None
    ) -> Verdict:
        """:meth:`check`, then send the same bytes again if they are not mined and their
        nonce is free; close a gap below them once it has lasted ``gap_grace_s``.

        With ``record`` (the owner's write of new signed bytes), a write of ours whose max
        fee is below the next block's base fee (a fee spike: nodes drop it or hold it
        forever) is signed again at its nonce with bumped fees, recorded, and sent instead
        (``Verdict.replaced``). FeeAboveCap when even that would pass the fee cap.
        """
        verdict = self.check(write)
        if not verdict.resend:
            self._forget(write.tx_hash)
            return verdict
        signed = SignedTx(write.nonce, write.raw, write.tx_hash)
        if record is not None and self._ours(write.signer):
            bumped = self.sender.replacement(signed)
            if bumped is not None:
                record(bumped)
                self._forget(write.tx_hash)
                self.sender.broadcast(bumped)
                return Verdict(
                    TxState.SUBMITTED,
                    resend=True,
                    replaced=bumped,
                    detail=f"underpriced: replaced by {bumped.tx_hash} with higher fees",
                )
        self.sender.broadcast(signed)
        if verdict.gap and self._gap_lasted(write.tx_hash) and self._ours(write.signer):
            filled = self.sender.close_gap(write.nonce)
            self._forget(write.tx_hash)
            return Verdict(
                TxState.SUBMITTED,
                resend=True,
                gap=True,
                detail=f"closed the nonce gap below {write.nonce} (no-ops at {filled})",
            )
        return verdict

    def _ours(self, signer: str) -> bool:
        return signer.lower() == self.sender.address.lower()

    def _gap_lasted(self, tx_hash: str) -> bool:
        now = self._monotonic()
        with self._lock:
            if len(self._gapped_since) >= GAPS_REMEMBERED_MAX:
                self._gapped_since.clear()
            since = self._gapped_since.setdefault(tx_hash, now)
        return now - since >= self.gap_grace_s

    def _forget(self, tx_hash: str) -> None:
        with self._lock:
            self._gapped_since.pop(tx_hash, None)

    def _mined_nonces(self, signer: str) -> int:
        return self.sender.transaction_count(signer, "latest")

    def _pending_nonces(self, signer: str) -> int:
        return self.sender.transaction_count(signer, "pending")
