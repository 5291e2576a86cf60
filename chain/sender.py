"""Signs locally, numbers nonces, bounds gas and fees, sends, and waits for confirmations.

One ``TransactionSender`` per signing account per process. Nonces come from the node's
*pending* transaction count, raised to at least the next nonce this process handed out, under
a lock held from numbering to sending: two threads never share a nonce, and a restart simply
resumes from what the node knows (pending transactions included).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import TxParams, TxReceipt

from chain.errors import ChainError, TransactionTimeout
from chain.retry import RetryPolicy, call_with_retry


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


class TransactionSender:
    """Sends transactions from one local account; thread-safe."""

    def __init__(self, w3: Web3, account: LocalAccount, settings: TxSettings) -> None:
        self.w3 = w3
        self.account = account
        self.settings = settings
        self._lock = threading.Lock()
        self._next_nonce: int | None = None
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

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fees: twice the latest base fee plus the node's suggested tip, capped."""
        block = self._rpc("eth_getBlockByNumber", lambda: self.w3.eth.get_block("latest"))
        base_fee_wei = int(block.get("baseFeePerGas", 0))
        tip_wei = int(self._rpc("eth_maxPriorityFeePerGas", lambda: self.w3.eth.max_priority_fee))
        max_fee_wei = 2 * base_fee_wei + tip_wei
        cap_wei = self.settings.max_fee_per_gas_cap_wei
        if max_fee_wei > cap_wei:
            raise ChainError(f"max fee {max_fee_wei} wei/gas is above the cap of {cap_wei}")
        return {"maxFeePerGas": max_fee_wei, "maxPriorityFeePerGas": min(tip_wei, max_fee_wei)}

    def send(self, tx: TxParams, gas_limit: int) -> str:
        """Numbers, signs and sends ``tx`` (to/data/value) with an explicit gas limit.

        Returns the transaction hash as 0x-hex. The transaction is in the node's pool, not
        necessarily mined: call :meth:`wait` for that.
        """
        with self._lock:
            signed = self._sign_locked(tx, gas_limit)
            try:
                self._send_raw(signed.raw, signed.tx_hash)
            except BaseException:
                self._next_nonce = None  # resync from the node next time
                raise
            return signed.tx_hash

    def sign(self, tx: TxParams, gas_limit: int) -> SignedTx:
        """Numbers and signs ``tx`` without sending it, so a caller can record it first.

        The nonce is reserved in this process; :meth:`broadcast` sends the bytes (again and
        again if need be: a resend of the same bytes is the same transaction).
        """
        with self._lock:
            return self._sign_locked(tx, gas_limit)

    def broadcast(self, signed: SignedTx) -> None:
        """Sends signed bytes; a node that already holds them counts as success."""
        try:
            self._send_raw(signed.raw, signed.tx_hash, already_known_ok=True)
        except BaseException:
            with self._lock:
                self._next_nonce = None
            raise

    def _sign_locked(self, tx: TxParams, gas_limit: int) -> SignedTx:
        assert 21_000 <= gas_limit <= 30_000_000, f"gas_limit={gas_limit} out of bounds"
        pending = int(
            self._rpc(
                "eth_getTransactionCount",
                lambda: self.w3.eth.get_transaction_count(self.account.address, "pending"),
            )
        )
        nonce = max(pending, self._next_nonce or 0)
        full: dict[str, Any] = {
            **dict(tx),
            "from": self.account.address,
            "nonce": nonce,
            "gas": gas_limit,
            "chainId": self.chain_id(),
            "type": 2,
            **self._fees(),
        }
        signed = self.account.sign_transaction(full)
        self._next_nonce = nonce + 1
        return SignedTx(nonce, bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex())

    def confirmed_nonce(self) -> int:
        """How many of this account's transactions are mined (the next unmined nonce)."""
        return int(
            self._rpc(
                "eth_getTransactionCount",
                lambda: self.w3.eth.get_transaction_count(self.account.address, "latest"),
            )
        )

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
            except Web3RPCError as e:
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
