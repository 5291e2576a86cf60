"""Typed failures of the chain adapter, all under one root, :class:`ChainError`.

Callers (the anchoring worker, the API's readiness check, the CLI) catch ``ChainError``
or one of its subclasses; web3, eth-tester and RPC exceptions never leak past ``chain/``.
"""

from __future__ import annotations

from typing import Any


class ChainError(Exception):
    """Root of every error raised by the chain adapter."""


class ChainUnavailable(ChainError):
    """The node did not answer (connection refused, timeout, RPC error) after bounded retries."""


class TransactionReverted(ChainError):
    """A call or transaction reverted.

    ``error_name`` and ``error_args`` are the decoded custom error (e.g.
    ``AzoraTreeSizeNotIncreasing``, ``(5, 7)``) when the ABI knows it; ``tx_hash`` is set when
    a mined transaction failed (as opposed to a call or a simulation).
    """

    def __init__(
        self,
        message: str,
        *,
        error_name: str | None = None,
        error_args: tuple[Any, ...] = (),
        tx_hash: str | None = None,
    ):
        super().__init__(message)
        self.error_name = error_name
        self.error_args = error_args
        self.tx_hash = tx_hash


class TransactionTimeout(ChainError):
    """A sent transaction was not mined, or not confirmed, within the allowed time."""

    def __init__(self, message: str, *, tx_hash: str):
        super().__init__(message)
        self.tx_hash = tx_hash


class ContractNotDeployed(ChainError):
    """No code (or not the expected code) at the contract address."""


class ArtifactError(ChainError):
    """The compiled artifact is missing, malformed, or does not match the sources."""


class CompilerError(ChainError):
    """The Solidity compiler (the solc-js shim) is missing or failed."""


class SignerKeyError(ChainError):
    """No usable signing key was configured (missing, unreadable or malformed)."""


class LocalNodeError(ChainError):
    """The local anvil node could not be found, started or stopped."""


class FeeAboveCap(ChainError):
    """The chain's fees are above the configured cap (``max_fee_per_gas_cap_wei``): nothing
    was signed; the caller waits for fees to fall."""
