"""Gas used by AzoraToken's operations; prints a table (run: make bench-gas).

    .venv/bin/python bench/gas.py                      # in-process EVM (eth-tester, prague)
    .venv/bin/python bench/gas.py --rpc-url URL        # any node, e.g. a local anvil

Anchors carry the RFC 9162 consistency proof from the last anchored head, checked by the
contract. For logs of 10, 10^3 and 10^6 leaves (a fresh deployment each, the first anchor at
that size), "later" anchors grow the log one leaf at a time: their mean is what an anchor
costs there (two consecutive anchors share the slot of their sizes and times, so costs
alternate with the index's parity, and grow with the proof's length only). A jump of 10^5
leaves in one anchor shows a long proof. The trees are real (an in-memory RFC 9162 tree of
1.1M synthetic leaves, ~5 s to build), so every proof is one the worker would send.
verifyInclusion is estimate_gas of the view call (it includes the 21,000 base of a tx and
the calldata); the note gives the gas the same call uses when mined as a transaction.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3

from chain import AzoraToken, TxSettings, connect
from chain.localnode import ANVIL_DEV_KEY
from ledger.merkle import MemoryTree, leaf_hash

LATER_ANCHORS = 40
ANCHOR_TARGET_GAS = 85_000
SIZES = (10, 1_000, 1_000_000)
JUMP = 100_000


def node_hash(left: bytes, right: bytes) -> bytes:
    return keccak(b"\x01" + left + right)


def synthetic_proof(m: int, n: int, leaf: bytes) -> tuple[bytes, list[bytes]]:
    """A root and a valid RFC 9162 path for leaf m of an n-leaf tree, with made-up
    siblings: enough for the contract to walk a real path of the right length."""
    if n == 1:
        return leaf, []
    k = 1 << ((n - 1).bit_length() - 1)
    sibling = keccak(f"sibling {m} {n}".encode())
    if m < k:
        below, proof = synthetic_proof(m, k, leaf)
        return node_hash(below, sibling), [*proof, sibling]
    below, proof = synthetic_proof(m - k, n - k, leaf)
    return node_hash(sibling, below), [*proof, sibling]


def synthetic_tree(size: int) -> MemoryTree:
    tree = MemoryTree()
    for i in range(size):
        tree.append(leaf_hash(i.to_bytes(8, "big")))
    return tree


def anchor_rows(deploy: Callable[[], AzoraToken]) -> list[tuple[str, int, str]]:
    """Gas of anchors on real trees: later anchors at 10, 10^3, 10^6 leaves, and a jump."""
    tree = synthetic_tree(max(SIZES) + LATER_ANCHORS + 2 * JUMP + 1)
    rows: list[tuple[str, int, str]] = []
    means = []
    for size in SIZES:
        token = deploy()
        first = token.anchor(size, tree.root(size)).gas_used
        used, lengths = [], []
        for n in range(size + 1, size + 1 + LATER_ANCHORS):
            proof = tree.consistency_proof(n - 1, n)
            used.append(token.anchor(n, tree.root(n), proof).gas_used)
            lengths.append(len(proof))
        mean = round(statistics.mean(used))
        means.append(mean)
        verdict = "OK" if mean <= ANCHOR_TARGET_GAS else "OVER"
        rows.append((f"anchor at {size:,} leaves, first", first, "empty proof; opens the head"))
        rows.append(
            (
                f"anchor at {size:,}, later (mean of {LATER_ANCHORS})",
                mean,
                f"{min(used):,}..{max(used):,}; proofs {min(lengths)}-{max(lengths)} nodes; "
                f"target <= {ANCHOR_TARGET_GAS:,}: {verdict}",
            )
        )
        if size == max(SIZES):
            for parity in ("odd", "even"):  # two jumps: one of each index parity
                old = token.anchor_at(token.anchor_count() - 1).tree_size
                new = old + JUMP
                proof = tree.consistency_proof(old, new)
                jump = token.anchor(new, tree.root(new), proof).gas_used
                note = f"{len(proof)} nodes, {parity} index"
                rows.append((f"anchor, jump of {JUMP:,} leaves", jump, note))
    growth = means[-1] - means[0]
    rows.append(
        (
            "later anchors: 10^6 minus 10 leaves",
            growth,
            f"+{100 * growth / means[0]:.1f}% for 10^5 x the leaves (O(log n) proof)",
        )
    )
    return rows


def setup(rpc_url: str | None) -> tuple[Web3, LocalAccount, TxSettings]:
    if rpc_url is None:
        provider = EthereumTesterProvider()
        assert provider.ethereum_tester is not None
        key = provider.ethereum_tester.backend.account_keys[0].to_bytes()
        return Web3(provider), Account.from_key(key), TxSettings(poll_interval_s=0.001)
    return connect(rpc_url), Account.from_key(ANVIL_DEV_KEY), TxSettings(poll_interval_s=0.005)


def measure(rpc_url: str | None) -> list[tuple[str, int, str]]:
    w3, admin, settings = setup(rpc_url)
    rows: list[tuple[str, int, str]] = []
    token, deployed = AzoraToken.deploy(w3, admin, settings=settings)
    rows.append(("deploy", deployed.gas_used, "constructor grants 3 roles"))
    rows.append(("mint (to a new holder)", token.mint(admin.address, 10**24).gas_used, ""))
    other = "0x" + "42" * 20
    rows.append(("transfer (to a new holder)", token.transfer(other, 10**18).gas_used, ""))
    rows.append(("transfer (existing holder)", token.transfer(other, 10**18).gas_used, ""))

    rows += anchor_rows(lambda: AzoraToken.deploy(w3, admin, settings=settings)[0])
    for exponent in (10, 20):
        token, _ = AzoraToken.deploy(w3, admin, settings=settings)  # anchor 0: no proof
        size = 2**exponent
        leaf_index = (size * 2) // 3
        leaf = keccak(b"\x00" + f"leaf {leaf_index}".encode())
        root, proof = synthetic_proof(leaf_index, size, leaf)
        token.anchor(size, root)
        index = 0
        assert token.verify_inclusion(index, leaf_index, leaf, proof)
        args = [index, leaf_index, leaf, proof]
        estimate = token.contract.functions.verifyInclusion(*args).estimate_gas()
        # The same call mined as a transaction: the exact figure (eth-tester's estimate pads).
        data = token.contract.encode_abi("verifyInclusion", args=args)
        assert token.sender is not None
        tx_hash = token.sender.send({"to": token.address, "data": data}, 200_000)
        used = int(token.sender.wait(tx_hash)["gasUsed"])
        floor = 21_000 + 10 * sum(4 if byte else 1 for byte in bytes.fromhex(data[2:]))
        note = f"{len(proof)} nodes; as a tx: {used:,} (EIP-7623 calldata floor {floor:,})"
        rows.append((f"verifyInclusion, size 2^{exponent}", estimate, note))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="AzoraToken gas table")
    parser.add_argument("--rpc-url", help="JSON-RPC node (default: in-process eth-tester)")
    args = parser.parse_args(argv)
    rows = measure(args.rpc_url)
    where = args.rpc_url or "eth-tester (py-evm, prague)"
    print(f"AzoraToken gas ({where})")
    print(f"{'operation':<42} {'gas':>10}  note")
    print("-" * 100)
    for name, gas, note in rows:
        print(f"{name:<42} {gas:>10,}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
