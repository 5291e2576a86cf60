"""What an anchor's transaction holds, read back from the chain for auditors: the
``Anchored`` events it emitted and, when it called ``anchor`` directly, the arguments it
sent (the consistency proof the contract accepted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.exceptions import TransactionNotFound, Web3Exception
from web3.logs import DISCARD

from chain.errors import ChainError
from chain.retry import call_with_retry
from chain.token import AnchoredEvent, AzoraToken


@dataclass(frozen=True, slots=True)
class AnchorCall:
    """The arguments of a transaction that called ``anchor`` on the contract."""

    tree_size: int
    root: bytes
    proof: tuple[bytes, ...]


def _receipt(token: AzoraToken, tx_hash: str) -> Any | None:
    def read() -> Any | None:
        try:
            return token.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    return call_with_retry(read, token.settings.retry, "eth_getTransactionReceipt")


def events_of_transaction(token: AzoraToken, tx_hash: str) -> list[AnchoredEvent] | None:
    """The contract's ``Anchored`` events in ``tx_hash``; None when the chain has no such
    mined transaction."""
    receipt = _receipt(token, tx_hash)
    if receipt is None:
        return None
    logs = token.contract.events.Anchored().process_receipt(receipt, errors=DISCARD)
    return [
        AnchoredEvent(
            index=int(log["args"]["index"]),
            tree_size=int(log["args"]["treeSize"]),
            root=bytes(log["args"]["root"]),
            tx_hash=tx_hash,
            block_number=int(log["blockNumber"]),
        )
        for log in logs
        if str(log["address"]).lower() == token.address.lower()
    ]


def anchor_call(token: AzoraToken, tx_hash: str) -> AnchorCall | None:
    """The ``anchor`` arguments ``tx_hash`` sent to the contract; None when it is not a
    direct call of ``anchor`` (another contract may have called it) or is not found."""

    def read() -> Any | None:
        try:
            return token.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    tx = call_with_retry(read, token.settings.retry, "eth_getTransactionByHash")
    if tx is None or str(tx.get("to") or "").lower() != token.address.lower():
        return None
    try:
        function, args = token.contract.decode_function_input(tx["input"])
    except (ValueError, Web3Exception):
        return None
    if function.fn_name != "anchor":
        return None
    try:
        return AnchorCall(
            int(args["treeSize"]),
            bytes(args["root"]),
            tuple(bytes(p) for p in args["consistencyProof"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ChainError(f"cannot decode the anchor call in {tx_hash}: {error}") from None
