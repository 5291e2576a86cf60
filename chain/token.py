"""The one binding of AzoraToken used by the rest of the service (worker, API, CLI, auditor).

Reads are ``eth_call``s with bounded retries. Writes are simulated first (so a revert comes
back as a typed ``TransactionReverted`` naming the custom error, without spending gas), then
signed locally with an explicit gas limit, sent, and waited for to the configured depth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams, TxReceipt, Wei

from chain.artifact import ContractArtifact, load_artifact
from chain.errors import ChainError, ContractNotDeployed, TransactionReverted
from chain.retry import call_with_retry
from chain.revert import REJECTED_ERRORS, REVERT_ERRORS, error_selectors, to_reverted
from chain.sender import SignedTx, TransactionSender, TxResult, TxSettings

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_ADMIN_ROLE = b"\x00" * 32
ANCHOR_ROLE = keccak(text="ANCHOR_ROLE")
MINTER_ROLE = keccak(text="MINTER_ROLE")
ROLES: dict[str, bytes] = {
    "DEFAULT_ADMIN_ROLE": DEFAULT_ADMIN_ROLE,
    "ANCHOR_ROLE": ANCHOR_ROLE,
    "MINTER_ROLE": MINTER_ROLE,
}

# Explicit gas limits, about 1.5x what each call was measured to use (contracts/README.md):
# no estimate on the send path, and a runaway transaction costs at most this.
DEPLOY_GAS_LIMIT = 2_000_000
GAS_LIMITS: dict[str, int] = {
    "anchor": 150_000,
    "mint": 120_000,
    "transfer": 100_000,
    "approve": 80_000,
    "transferFrom": 120_000,
    "grantRole": 120_000,
    "revokeRole": 80_000,
    "renounceRole": 80_000,
}
MAX_PROOF_NODES = 64
UINT64_MAX = 2**64 - 1


@dataclass(frozen=True)
class Anchor:
    """One anchored tree head, as the contract stores it."""

    index: int
    tree_size: int
    root: bytes
    timestamp: int


@dataclass(frozen=True)
class AnchoredEvent:
    """An ``Anchored`` log, with where it was mined."""

    index: int
    tree_size: int
    root: bytes
    tx_hash: str
    block_number: int


def _as_bytes32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {len(value)}")
    return bytes(value)


class AzoraToken:
    """Binding to one deployed AzoraToken; ``account`` signs writes (None: read-only)."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        account: LocalAccount | None = None,
        *,
        settings: TxSettings | None = None,
        artifact: ContractArtifact | None = None,
        sender: TransactionSender | None = None,
    ) -> None:
        """``sender``: the process's one sender for the signing key (ChainRuntime's); else
        one of its own for ``account`` (tools, tests), else read-only."""
        self.w3 = w3
        self.artifact = artifact or load_artifact()
        self.settings = sender.settings if sender else (settings or TxSettings())
        self.address = to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self._selectors = error_selectors(self.artifact.abi)
        if sender is None and account is not None:
            sender = TransactionSender(w3, account, self.settings)
        self.sender = sender

    # -- construction -------------------------------------------------------------------

    @classmethod
    def deploy(
        cls,
        w3: Web3,
        account: LocalAccount,
        admin: str | None = None,
        *,
        settings: TxSettings | None = None,
        artifact: ContractArtifact | None = None,
        sender: TransactionSender | None = None,
    ) -> tuple[AzoraToken, TxResult]:
        """Deploys a new AzoraToken granting ``admin`` (default: the signer) every role,
        sent through ``sender`` when given (the process's one sender for ``account``)."""
        artifact = artifact or load_artifact()
        settings = sender.settings if sender else (settings or TxSettings())
        admin_address = to_checksum_address(admin or account.address)
        args = w3.codec.encode(["address"], [admin_address])
        sender = sender or TransactionSender(w3, account, settings)
        tx_hash = sender.send(
            {"data": HexStr(artifact.bytecode + args.hex()), "value": Wei(0)}, DEPLOY_GAS_LIMIT
        )
        receipt = sender.wait(tx_hash)
        address = receipt.get("contractAddress")
        if receipt["status"] != 1 or not address:
            raise TransactionReverted("AzoraToken deployment reverted", tx_hash=tx_hash)
        token = cls(w3, str(address), settings=settings, artifact=artifact, sender=sender)
        return token, _result(tx_hash, receipt)

    @classmethod
    def at(
        cls,
        w3: Web3,
        address: str,
        account: LocalAccount | None = None,
        *,
        settings: TxSettings | None = None,
        artifact: ContractArtifact | None = None,
        require_same_code: bool = False,
        sender: TransactionSender | None = None,
    ) -> AzoraToken:
        """Binds to an existing deployment; raises ContractNotDeployed when no code is there.

        With ``require_same_code`` the runtime code must equal the artifact's byte for byte.
        """
        token = cls(w3, address, account, settings=settings, artifact=artifact, sender=sender)
        token.check_deployed(require_same_code)
        return token

    def with_signer(self, account: LocalAccount) -> AzoraToken:
        """The same contract, writing as another account (with its own nonces)."""
        return AzoraToken(
            self.w3, self.address, account, settings=self.settings, artifact=self.artifact
        )

    def check_deployed(self, require_same_code: bool = False) -> None:
        code = bytes(self._read("eth_getCode", lambda: self.w3.eth.get_code(self.address)))
        if not code:
            raise ContractNotDeployed(f"no contract code at {self.address}")
        if require_same_code and "0x" + code.hex() != self.artifact.deployed_bytecode.lower():
            raise ContractNotDeployed(f"code at {self.address} is not this AzoraToken build")

    # -- plumbing -----------------------------------------------------------------------

    def _read(self, what: str, fn: Callable[[], T]) -> T:
        return call_with_retry(fn, self.settings.retry, what)

    def _call(self, fn_name: str, *args: Any) -> Any:
        fn = self.contract.functions[fn_name](*args)
        try:
            return self._read(fn_name, fn.call)
        except REVERT_ERRORS as e:
            raise to_reverted(e, self._selectors, fn_name) from e

    def _require_sender(self) -> TransactionSender:
        if self.sender is None:
            raise ChainError("this AzoraToken binding is read-only: give it an account")
        return self.sender

    def send(self, fn_name: str, *args: Any, simulate: bool = True) -> str:
        """Sends ``fn_name(*args)`` with its fixed gas limit; returns the tx hash, unmined."""
        sender = self._require_sender()
        return sender.send(self._prepare(fn_name, args, simulate), GAS_LIMITS[fn_name])

    def sign(self, fn_name: str, *args: Any, simulate: bool = True) -> SignedTx:
        """Signs ``fn_name(*args)`` without sending it (see TransactionSender.sign)."""
        sender = self._require_sender()
        return sender.sign(self._prepare(fn_name, args, simulate), GAS_LIMITS[fn_name])

    def simulate(self, fn_name: str, *args: Any) -> None:
        """Runs ``fn_name(*args)`` as an ``eth_call`` from the signer: TransactionReverted
        (the custom error decoded) if it would revert; nothing is signed or sent."""
        sender = self._require_sender()
        fn = self.contract.functions[fn_name](*args)
        try:
            self._read(fn_name, lambda: fn.call({"from": sender.address}))
        except REVERT_ERRORS as e:
            raise to_reverted(e, self._selectors, fn_name) from e
        except REJECTED_ERRORS as e:
            raise ChainError(f"{fn_name} rejected by the node: {e}") from e

    def _prepare(self, fn_name: str, args: tuple[Any, ...], simulate: bool) -> TxParams:
        if simulate:
            self.simulate(fn_name, *args)
        data = self.contract.encode_abi(fn_name, args=list(args))
        tx: TxParams = {"to": self.address, "data": data, "value": Wei(0)}
        return tx

    def wait(self, tx_hash: str, what: str = "transaction") -> TxResult:
        """Waits for ``tx_hash`` to confirm; raises TransactionReverted if it failed."""
        sender = self._require_sender()
        receipt = sender.wait(tx_hash)
        if receipt["status"] != 1:
            raise self._explain_failure(receipt, what, tx_hash)
        return _result(tx_hash, receipt)

    def _transact(self, fn_name: str, *args: Any) -> TxResult:
        return self.wait(self.send(fn_name, *args), fn_name)

    def _explain_failure(self, receipt: TxReceipt, what: str, tx_hash: str) -> TransactionReverted:
        """Replays a failed transaction as a call on its parent block to name the error."""
        tx = self.w3.eth.get_transaction(receipt["transactionHash"])
        replay: TxParams = {"from": tx["from"], "to": tx["to"], "data": tx["input"]}
        try:
            self.w3.eth.call(replay, int(receipt["blockNumber"]) - 1)
        except REVERT_ERRORS as e:
            return to_reverted(e, self._selectors, what, tx_hash)
        except Exception as e:  # best effort: the failure itself is what matters
            log.debug("could not replay failed %s %s: %s", what, tx_hash, e)
        return TransactionReverted(
            f"{what} failed in block {receipt['blockNumber']} (gas used {receipt['gasUsed']})",
            tx_hash=tx_hash,
        )

    # -- ERC-20 ---------------------------------------------------------------------------

    def name(self) -> str:
        return str(self._call("name"))

    def symbol(self) -> str:
        return str(self._call("symbol"))

    def decimals(self) -> int:
        return int(self._call("decimals"))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    def balance_of(self, account: str) -> int:
        return int(self._call("balanceOf", to_checksum_address(account)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(
            self._call("allowance", to_checksum_address(owner), to_checksum_address(spender))
        )

    def transfer(self, to: str, amount: int) -> TxResult:
        return self._transact("transfer", to_checksum_address(to), amount)

    def approve(self, spender: str, amount: int) -> TxResult:
        return self._transact("approve", to_checksum_address(spender), amount)

    def transfer_from(self, owner: str, to: str, amount: int) -> TxResult:
        return self._transact(
            "transferFrom", to_checksum_address(owner), to_checksum_address(to), amount
        )

    def mint(self, to: str, amount: int) -> TxResult:
        """Mints ``amount`` smallest units to ``to``; the signer needs MINTER_ROLE."""
        return self._transact("mint", to_checksum_address(to), amount)

    # -- roles ------------------------------------------------------------------------------

    def has_role(self, role: bytes, account: str) -> bool:
        return bool(self._call("hasRole", _as_bytes32(role, "role"), to_checksum_address(account)))

    def grant_role(self, role: bytes, account: str) -> TxResult:
        """Grants ``role``; the signer needs the role's admin role (DEFAULT_ADMIN_ROLE here)."""
        return self._transact("grantRole", _as_bytes32(role, "role"), to_checksum_address(account))

    def revoke_role(self, role: bytes, account: str) -> TxResult:
        return self._transact("revokeRole", _as_bytes32(role, "role"), to_checksum_address(account))

    # -- anchors ----------------------------------------------------------------------------

    def _anchor_args(
        self, tree_size: int, root: bytes, proof: Sequence[bytes]
    ) -> tuple[int, bytes, list[bytes]]:
        if not 1 <= tree_size <= UINT64_MAX:
            raise ValueError(f"tree_size={tree_size} outside [1, 2**64)")
        if len(proof) > MAX_PROOF_NODES + 1:
            raise ValueError(f"a consistency proof has at most 65 nodes, got {len(proof)}")
        nodes = [_as_bytes32(p, "proof node") for p in proof]
        return tree_size, _as_bytes32(root, "root"), nodes

    def send_anchor(self, tree_size: int, root: bytes, proof: Sequence[bytes] = ()) -> str:
        """Sends ``anchor(tree_size, root, proof)`` and returns its tx hash without waiting."""
        return self.send("anchor", *self._anchor_args(tree_size, root, proof))

    def sign_anchor(self, tree_size: int, root: bytes, proof: Sequence[bytes] = ()) -> SignedTx:
        """Signs ``anchor(tree_size, root, proof)`` (simulated first) without sending it."""
        return self.sign("anchor", *self._anchor_args(tree_size, root, proof))

    def anchor(self, tree_size: int, root: bytes, proof: Sequence[bytes] = ()) -> TxResult:
        """Anchors a tree head and waits for confirmation; the signer needs ANCHOR_ROLE.

        ``proof`` is the RFC 9162 consistency proof from the last anchored size (empty for
        the first anchor). Raises TransactionReverted naming the contract's error:
        ``AzoraTreeSizeNotIncreasing``, ``AzoraInconsistentAnchor`` or
        ``AzoraFirstAnchorTakesNoProof``.
        """
        return self.wait(self.send_anchor(tree_size, root, proof), "anchor")

    def verify_consistency(
        self, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
    ) -> bool:
        """Asks the contract whether ``proof`` links the two tree heads (what ``anchor`` checks).

        Inputs the ABI could not encode are answered False locally, as the contract answers
        every other bad input.
        """
        if not (0 <= old_size <= UINT64_MAX and 0 <= new_size <= UINT64_MAX):
            return False
        if len(old_root) != 32 or len(new_root) != 32 or any(len(p) != 32 for p in proof):
            return False
        args = (old_size, new_size, bytes(old_root), bytes(new_root), [bytes(p) for p in proof])
        return bool(self._call("verifyConsistency", *args))

    def anchor_count(self) -> int:
        return int(self._call("anchorCount"))

    def anchor_at(self, index: int) -> Anchor:
        """The anchor at ``index``; TransactionReverted (AzoraAnchorIndexOutOfRange) if none."""
        tree_size, root, timestamp = self._call("anchorAt", index)
        return Anchor(index, int(tree_size), bytes(root), int(timestamp))

    def verify_inclusion(
        self, anchor_index: int, leaf_index: int, leaf_hash: bytes, proof: Sequence[bytes]
    ) -> bool:
        """Asks the contract whether ``proof`` places ``leaf_hash`` in that anchor's tree.

        Inputs the ABI could not encode (negative, too wide) are answered False locally, as the
        contract answers every other bad input.
        """
        if not (0 <= anchor_index < 2**256 and 0 <= leaf_index <= UINT64_MAX):
            return False
        if len(leaf_hash) != 32 or any(len(p) != 32 for p in proof):
            return False
        if len(proof) > MAX_PROOF_NODES:
            return False
        args = (anchor_index, leaf_index, bytes(leaf_hash), [bytes(p) for p in proof])
        return bool(self._call("verifyInclusion", *args))

    def anchored_events(
        self, from_block: int = 0, to_block: int | str = "latest"
    ) -> list[AnchoredEvent]:
        """``Anchored`` logs in a block range (bound the range on public chains)."""
        logs = self._read(
            "eth_getLogs",
            lambda: self.contract.events.Anchored.get_logs(
                from_block=from_block, to_block=to_block
            ),
        )
        return [
            AnchoredEvent(
                index=int(log["args"]["index"]),
                tree_size=int(log["args"]["treeSize"]),
                root=bytes(log["args"]["root"]),
                tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                block_number=int(log["blockNumber"]),
            )
            for log in logs
        ]


def _result(tx_hash: str, receipt: TxReceipt) -> TxResult:
    address = receipt.get("contractAddress")
    return TxResult(
        tx_hash=tx_hash,
        block_number=int(receipt["blockNumber"]),
        gas_used=int(receipt["gasUsed"]),
        contract_address=str(address) if address else None,
    )
