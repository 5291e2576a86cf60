"""Turns the many shapes of a revert (eth-tester, web3, JSON-RPC) into TransactionReverted."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_tester.exceptions import TransactionFailed
from eth_typing import ABIError
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError
from web3.exceptions import ContractLogicError, Web3RPCError

from chain.errors import TransactionReverted

# What a node may raise when a call or a gas estimate reverts.
REVERT_ERRORS: tuple[type[BaseException], ...] = (ContractLogicError, TransactionFailed)

# What a node raises when it refuses a call or transaction before running it (unfunded
# sender, bad nonce, ...): eth-tester validates in-process, JSON-RPC nodes answer an error.
REJECTED_ERRORS: tuple[type[BaseException], ...] = (ValidationError, Web3RPCError)

_PREFIX = "execution reverted: "


@dataclass(frozen=True)
class ErrorAbi:
    name: str
    types: tuple[str, ...]


def error_selectors(abi: list[dict[str, Any]]) -> dict[bytes, ErrorAbi]:
    """Maps each custom error's 4-byte selector to its name and argument types."""
    return {
        function_abi_to_4byte_selector(cast(ABIError, item)): ErrorAbi(
            str(item["name"]), tuple(str(i["type"]) for i in item.get("inputs", []))
        )
        for item in abi
        if item.get("type") == "error"
    }


def _revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by ``exc``, when there is any."""
    if isinstance(exc, ContractLogicError):
        data = exc.data
        if isinstance(data, dict):  # some nodes nest it
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        return None
    # eth-tester: "execution reverted: b'...'" (the repr of the bytes) or a decoded string.
    message = str(exc.args[0]) if exc.args else ""
    if message.startswith(_PREFIX):
        message = message[len(_PREFIX) :]
    if message.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(message)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    return None


def to_reverted(
    exc: BaseException, selectors: dict[bytes, ErrorAbi], what: str, tx_hash: str | None = None
) -> TransactionReverted:
    """Builds the TransactionReverted for ``exc``, decoding the custom error when the ABI has it."""
    data = _revert_data(exc)
    error = selectors.get(data[:4]) if data and len(data) >= 4 else None
    if error is None or data is None:
        detail = exc.message if isinstance(exc, ContractLogicError) and exc.message else str(exc)
        return TransactionReverted(f"{what} reverted: {detail}", tx_hash=tx_hash)
    try:
        args = tuple(
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(error.types, abi_decode(list(error.types), data[4:]), strict=True)
        )
    except DecodingError:
        args = ()
    shown = ", ".join(a.hex() if isinstance(a, bytes) else str(a) for a in args)
    return TransactionReverted(
        f"{what} reverted: {error.name}({shown})",
        error_name=error.name,
        error_args=args,
        tx_hash=tx_hash,
    )
