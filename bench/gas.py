"""Gas used by AzoraToken's operations; prints a table (run: make bench-gas).

    .venv/bin/python bench/gas.py                      # in-process EVM (eth-tester, prague)
    .venv/bin/python bench/gas.py --rpc-url URL        # any node, e.g. a local anvil

Anchors: the first one also initialises the running head; "later" is the mean of many,
which alternate between two costs (two anchors share the slot of their sizes and times).
verifyInclusion is estimate_gas of the view call (it includes the 21,000 base of a tx and
the calldata); the note gives the gas the same call uses when mined as a transaction.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3

from chain import AzoraToken, TxSettings, connect
from chain.localnode import ANVIL_DEV_KEY

LATER_ANCHORS = 100
ANCHOR_TARGET_GAS = 70_000


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

    rows.append(("anchor, first", token.anchor(1, keccak(b"1")).gas_used, "head slot 0 -> 1"))
    later = [token.anchor(n, keccak(str(n).encode())).gas_used for n in range(2, 2 + LATER_ANCHORS)]
    mean = round(statistics.mean(later))
    verdict = "OK" if mean <= ANCHOR_TARGET_GAS else "OVER"
    rows.append((f"anchor, later (mean of {LATER_ANCHORS})", mean, f"target <= 70,000: {verdict}"))
    rows.append(("anchor, later (odd index)", max(later[0::2]), "completes a shared size slot"))
    rows.append(("anchor, later (even index)", max(later[1::2]), "opens a new size slot"))

    for exponent in (10, 20):
        size = 2**exponent
        leaf_index = (size * 2) // 3
        leaf = keccak(b"\x00" + f"leaf {leaf_index}".encode())
        root, proof = synthetic_proof(leaf_index, size, leaf)
        token.anchor(size, root)
        index = token.anchor_count() - 1
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
    print(f"{'operation':<36} {'gas':>10}  note")
    print("-" * 80)
    for name, gas, note in rows:
        print(f"{name:<36} {gas:>10,}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
