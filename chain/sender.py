"""Signs locally, numbers nonces, bounds gas and fees, sends, and waits for confirmations.

One ``TransactionSender`` per signing account per process (:class:`chain.runtime.ChainRuntime`
builds it once and hands it to every chain writer: anchors, mints, deployments). Nonces come
from the node's *pending* count (mined + the unbroken run in its pool), raised to at least
the next nonce this process handed out, under one lock: two writers never share a nonce, and
a restart resumes from what the node knows.

Every nonce handed out is either sent, or given back with :meth:`release` (the next signing
reuses the lowest one given back, so no gap is left behind). What this process signed and
has not seen mined stays in an outbox, so :meth:`close_gap` can send it again when the node
lost it; a nonce nobody here can send any more (the transaction vanished, e.g. with a chain
rollback) is filled with a no-op transfer to self, so everything above it can be mined.

Fees are estimated for each signing from the next block's base fee, never above the cap
(:class:`chain.errors.FeeAboveCap`); :meth:`TransactionSender.replacement` signs a transaction
left below a risen base fee again at its nonce with bumped fees.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import MethodUnavailable, TransactionNotFound
from web3.types import TxParams, TxReceipt, Wei

from chain.errors import ChainError, ChainUnavailable, FeeAboveCap, TransactionTimeout
from chain.retry import RetryPolicy, call_with_retry
from chain.revert import REJECTED_ERRORS


@dataclass(frozen=True)
class TxSettings:
    """Bounds on sending and waiting. Units are in the names."""

    confirmations: int = 1
    receipt_timeout_s: float = 120.0
    poll_interval_s: float = 0.05
    # Refuse to sign a transaction whose max fee per gas is above this (runaway fee guard).
    max_fee_per_gas_cap_wei: int = 500 * 10**9
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        assert 1 <= self.confirmations <= 64, f"confirmations={self.confirmations} not in [1, 64]"
        assert 0 < self.poll_interval_s <= self.receipt_timeout_s <= 3600
        assert self.max_fee_per_gas_cap_wei > 0


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction not necessarily sent yet."""

    nonce: int
    raw: bytes
    tx_hash: str


@dataclass(frozen=True)
class TxResult:
    """A mined, confirmed, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    contract_address: str | None = None


# Replies of nodes to a raw transaction they already hold: the send did go through.
_ALREADY_KNOWN = ("already known", "known transaction", "already imported", "alreadyknown")
FILLER_GAS = 21_000
MAX_GAP = 256  # nonces close_gap fills in one call, at most
OUTBOX_PRUNE_AT = 256  # signed-unmined transactions remembered before pruning the mined ones
REPLACE_BUMP = (9, 8)  # a replacement's fees: at least 12.5 % above the old (geth asks 10 %)
FEE_HISTORY_MISSING: tuple[type[BaseException], ...] = (*REJECTED_ERRORS, MethodUnavailable)


def _bumped(wei: int) -> int:
    return -(-wei * REPLACE_BUMP[0] // REPLACE_BUMP[1])  # rounded up


class TransactionSender:
    """Sends transactions from one local account; thread-safe."""

    def __init__(self, w3: Web3, account: LocalAccount, settings: TxSettings) -> None:
        self.w3 = w3
        self.account = account
        self.settings = settings
        self._lock = threading.Lock()
        self._next_nonce: int | None = None
        self._released: set[int] = set()
        self._outbox: dict[int, SignedTx] = {}
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        return str(self.account.address)

    def _rpc(self, what: str, fn: Any) -> Any:
        return call_with_retry(fn, self.settings.retry, what)

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self._rpc("eth_chainId", lambda: self.w3.eth.chain_id))
        return self._chain_id

    def next_base_fee(self) -> int:
        """The base fee of the next block (``eth_feeHistory``'s last entry), else the latest's."""

        def read() -> int:
            try:
                history = list(self.w3.eth.fee_history(1, "latest", [])["baseFeePerGas"])
            except FEE_HISTORY_MISSING:
                history = []
            if history:
                return int(history[-1])
            # A node without eth_feeHistory (eth-tester answers an empty one).
            return int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))

        return int(self._rpc("eth_feeHistory", read))

    def _fees(self, floor: dict[str, int] | None = None) -> dict[str, int]:
        """EIP-1559 fees: twice the next base fee plus the node's suggested tip, at most the
        cap, and at least ``floor`` (a replacement's bumped fees). FeeAboveCap when even the
        base fee plus the tip (what the next block asks) is above the cap."""
        base_fee_wei = self.next_base_fee()
        tip_wei = int(self._rpc("eth_maxPriorityFeePerGas", lambda: self.w3.eth.max_priority_fee))
        if floor is not None:
            tip_wei = max(tip_wei, floor["maxPriorityFeePerGas"])
        cap_wei = self.settings.max_fee_per_gas_cap_wei
        least_wei = max(base_fee_wei + tip_wei, (floor or {}).get("maxFeePerGas", 0))
        if least_wei > cap_wei:
            raise FeeAboveCap(
                f"the chain asks {least_wei} wei/gas (base fee {base_fee_wei} + tip {tip_wei}), "
                f"above the cap of {cap_wei} (AZORA_MAX_FEE_GWEI)"
            )
        max_fee_wei = min(cap_wei, max(2 * base_fee_wei + tip_wei, least_wei))
        return {"maxFeePerGas": max_fee_wei, "maxPriorityFeePerGas": tip_wei}

    def replacement(self, signed: SignedTx) -> SignedTx | None:
        """``signed`` again at its nonce with fees the next block takes, when its max fee
        is below the next base fee (it cannot be mined: a fee spike), else None.

        The new fees are at least ``REPLACE_BUMP`` above the old (what nodes ask of a
        replacement) and never above the cap (FeeAboveCap). The caller records the new
        bytes before it broadcasts them, as for any signed transaction.
        """
        old = TypedTransaction.from_bytes(HexBytes(signed.raw)).as_dict()
        if "maxFeePerGas" not in old:
            return None  # not EIP-1559: not one of ours
        old_max, old_tip = int(old["maxFeePerGas"]), int(old["maxPriorityFeePerGas"])
        if old_max >= self.next_base_fee():
            return None
        floor = {"maxFeePerGas": _bumped(old_max), "maxPriorityFeePerGas": _bumped(old_tip)}
        tx: TxParams = {"to": old["to"], "data": old["data"], "value": old["value"]}
        with self._lock:
            return self._sign_at(tx, int(old["gas"]), signed.nonce, self._fees(floor))

    def send(self, tx: TxParams, gas_limit: int) -> str:
        """Numbers, signs and sends ``tx`` (to/data/value) with an explicit gas limit.

        Returns the transaction hash as 0x-hex. The transaction is in the node's pool, not
        necessarily mined: call :meth:`wait` for that. If the send fails the signed bytes stay
        in the outbox (the node may hold them after all): :meth:`close_gap` sends them again
        if the nonce turns out to be missing.
        """
        with self._lock:
            signed = self._sign_locked(tx, gas_limit)
        try:
            self._send_raw(signed.raw, signed.tx_hash)
        except ChainUnavailable:
            raise  # no answer: the node may hold it; the outbox keeps it for close_gap
        except ChainError:
            self.release(signed)  # refused: never in the pool, so the nonce is free again
            raise
        return signed.tx_hash

    def sign(self, tx: TxParams, gas_limit: int) -> SignedTx:
        """Numbers and signs ``tx`` without sending it, so a caller can record it first.

        The nonce is reserved in this process until the bytes are sent (:meth:`broadcast`,
        again and again if need be: a resend of the same bytes is the same transaction) or
        given back (:meth:`release`).
        """
        with self._lock:
            return self._sign_locked(tx, gas_limit)

    def broadcast(self, signed: SignedTx) -> None:
        """Sends signed bytes; a node that already holds them counts as success."""
        self._send_raw(signed.raw, signed.tx_hash, already_known_ok=True)

    def release(self, signed: SignedTx) -> None:
        """``signed`` will never be sent: its nonce goes to the next transaction signed.

        Precondition: ``signed`` came from :meth:`sign` of this sender and was never
        broadcast (a sent transaction's nonce is the chain's to settle, not ours).
        """
        with self._lock:
            if self._outbox.get(signed.nonce) != signed:
                return  # not ours, or already given back: nothing is reserved for it
            del self._outbox[signed.nonce]
            if self._next_nonce is not None and signed.nonce == self._next_nonce - 1:
                self._next_nonce -= 1
                while self._next_nonce - 1 in self._released:
                    self._next_nonce -= 1
                    self._released.discard(self._next_nonce)
            else:
                self._released.add(signed.nonce)

    def pending_nonce(self) -> int:
        """The node's next nonce after what it has mined and holds in an unbroken run."""
        return self.transaction_count(self.address, "pending")

    def transaction_count(self, address: str, block: Literal["latest", "pending"]) -> int:
        """``eth_getTransactionCount`` of any account (e.g. a key that signed before a
        rotation), through this sender's retry policy."""
        checksummed = to_checksum_address(address)
        return int(
            self._rpc(
                "eth_getTransactionCount",
                lambda: self.w3.eth.get_transaction_count(checksummed, block),
            )
        )

    def close_gap(self, below: int) -> list[int]:
        """Makes every nonce under ``below`` minable: sends again what this process signed
        and the node lost, fills any other missing nonce with a no-op transfer to self.

        For a transaction at nonce ``below`` that waits behind nonces the chain will never
        mine (they vanished with a rollback, or died with a process that never sent them).
        Returns the nonces filled with a no-op. Raises ChainError past ``MAX_GAP`` nonces.
        """
        with self._lock:
            pending = self.pending_nonce()
            if below - pending > MAX_GAP:
                raise ChainError(f"nonce gap {pending}..{below - 1} is wider than {MAX_GAP}")
            filled: list[int] = []
            for nonce in range(pending, below):
                self._released.discard(nonce)
                kept = self._outbox.get(nonce)
                if kept is not None:
                    try:
                        self._send_raw(kept.raw, kept.tx_hash, already_known_ok=True)
                        continue
                    except ChainUnavailable:
                        raise
                    except ChainError:
                        pass  # refused for good (funds, fees): the no-op takes its nonce
                filler: TxParams = {"to": self.account.address, "value": Wei(0)}
                no_op = self._sign_at(filler, FILLER_GAS, nonce)
                self._send_raw(no_op.raw, no_op.tx_hash, already_known_ok=True)
                filled.append(nonce)
            self._next_nonce = max(self._next_nonce or 0, below)
            return filled

    def _sign_locked(self, tx: TxParams, gas_limit: int) -> SignedTx:
        fees = self._fees()  # first: a fee above the cap must not reserve a nonce
        pending = self.pending_nonce()
        self._released = {n for n in self._released if n >= pending}
        if self._released:
            nonce = min(self._released)
            self._released.discard(nonce)
        else:
            nonce = max(pending, self._next_nonce or 0)
            self._next_nonce = nonce + 1
        if len(self._outbox) >= OUTBOX_PRUNE_AT:
            mined = self.confirmed_nonce()
            self._outbox = {n: t for n, t in self._outbox.items() if n >= mined}
        return self._sign_at(tx, gas_limit, nonce, fees)

    def _sign_at(
        self, tx: TxParams, gas_limit: int, nonce: int, fees: dict[str, int] | None = None
    ) -> SignedTx:
        assert 21_000 <= gas_limit <= 30_000_000, f"gas_limit={gas_limit} out of bounds"
        full: dict[str, Any] = {
            **dict(tx),
            "from": self.account.address,
            "nonce": nonce,
            "gas": gas_limit,
            "chainId": self.chain_id(),
            "type": 2,
            **(fees if fees is not None else self._fees()),
        }
        raw = self.account.sign_transaction(full)
        signed = SignedTx(nonce, bytes(raw.raw_transaction), "0x" + bytes(raw.hash).hex())
        self._outbox[nonce] = signed
        return signed

    def confirmed_nonce(self) -> int:
        """How many of this account's transactions are mined (the next unmined nonce)."""
        return self.transaction_count(self.address, "latest")

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of ``tx_hash`` if mined, else None (no waiting)."""
        return self._receipt_or_none(tx_hash)

    def _send_raw(self, raw: bytes, tx_hash: str, *, already_known_ok: bool = False) -> None:
        first = True

        def attempt() -> None:
            nonlocal first
            retrying, first = not first, False
            try:
                self.w3.eth.send_raw_transaction(raw)
            except REJECTED_ERRORS as e:
                # A retry after a lost reply finds the node already holding our transaction.
                known = any(m in str(e).lower() for m in _ALREADY_KNOWN)
                if known and (retrying or already_known_ok):
                    return
                raise ChainError(f"node refused transaction {tx_hash}: {e}") from e

        self._rpc("eth_sendRawTransaction", attempt)
        assert tx_hash.startswith("0x")

    def _receipt_or_none(self, tx_hash: str) -> TxReceipt | None:
        def get() -> TxReceipt | None:
            try:
                return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                return None

        receipt: TxReceipt | None = self._rpc("eth_getTransactionReceipt", get)
        return receipt

    def wait(self, tx_hash: str) -> TxReceipt:
        """Waits until ``tx_hash`` is mined and has ``confirmations`` blocks (its own included).

        Returns the receipt, whatever its status; raises TransactionTimeout past the timeout.
        """
        deadline = time.monotonic() + self.settings.receipt_timeout_s
        while True:
            receipt = self._receipt_or_none(tx_hash)
            if receipt is not None and self._confirmed(receipt):
                # Read again: a reorg while we waited may have moved or dropped it.
                again = self._receipt_or_none(tx_hash)
                if again is not None and again["blockHash"] == receipt["blockHash"]:
                    return again
            if time.monotonic() >= deadline:
                state = "not mined" if receipt is None else "not confirmed"
                raise TransactionTimeout(
                    f"{tx_hash} {state} after {self.settings.receipt_timeout_s}s", tx_hash=tx_hash
                )
            time.sleep(self.settings.poll_interval_s)

    def _confirmed(self, receipt: TxReceipt) -> bool:
        if self.settings.confirmations == 1:
            return True
        head = int(self._rpc("eth_blockNumber", lambda: self.w3.eth.block_number))
        return head - int(receipt["blockNumber"]) + 1 >= self.settings.confirmations
