"""Benchmark the log's signed checkpoints and receipts (ledger.tlog), pure, in memory.

    PYTHONPATH=. .venv/bin/python bench/checkpoints.py [--leaves 1048576] [--samples 2000]

What a request to GET /v1/checkpoint adds to the root lookup (one Ed25519 signature), what
an auditor's offline receipt check costs (key parse, signature, leaf hash, inclusion path),
and the consistency-size computation the monitor runs per anchor. Figures and same-run
ratios only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from ledger.merkle import MemoryTree, leaf_hash, verify_inclusion
from ledger.tlog import Checkpoint, NoteSigner, check_receipt, consistency_sizes, open_checkpoint
from ledger.tlog.checkpoint import sign_checkpoint

ORIGIN = "azora-ledger/31337/0x5FbDB2315678afecb367f032d93F642f64180aa3"


def per_second(fn: Callable[[int], object], samples: int) -> float:
    start = time.perf_counter()
    for i in range(samples):
        fn(i)
    return samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=1 << 20)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    n, samples = args.leaves, args.samples
    leaves = [f'{{"entry_id":"e{i}","seq":{i}}}'.encode() for i in range(n)]
    tree = MemoryTree()
    tree.extend([leaf_hash(x) for x in leaves])
    root = tree.root(n)
    signer = NoteSigner(ORIGIN, b"\x42" * 32)
    verifier = signer.verifier
    note = sign_checkpoint(Checkpoint(ORIGIN, n, root), signer)
    receipts = []
    for i in range(0, n, max(1, n // 64)):
        receipts.append(
            {
                "entry_id": f"e{i}",
                "leaf_index": i,
                "leaf": leaves[i].decode(),
                "leaf_hash": "0x" + leaf_hash(leaves[i]).hex(),
                "tree_size": n,
                "root": "0x" + root.hex(),
                "inclusion_proof": ["0x" + p.hex() for p in tree.inclusion_proof(i, n)],
                "anchor": {"index": 0, "chain_id": 31337, "contract": ORIGIN.rsplit("/", 1)[1]},
                "checkpoint": note,
                "checkpoint_key": verifier.encode(),
            }
        )
    decoded = [json.loads(json.dumps(r)) for r in receipts]
    paths = [(r["leaf_index"], tree.inclusion_proof(r["leaf_index"], n)) for r in receipts]
    rows = [
        (
            "sign a checkpoint",
            per_second(lambda i: sign_checkpoint(Checkpoint(ORIGIN, i + 1, root), signer), samples),
        ),
        (
            "open a signed checkpoint",
            per_second(lambda i: open_checkpoint(note, verifier), samples),
        ),
        (
            "check a receipt offline",
            per_second(lambda i: check_receipt(decoded[i % len(decoded)]), samples),
        ),
        (
            "inclusion path alone",
            per_second(
                lambda i: verify_inclusion(
                    paths[i % len(paths)][0],
                    n,
                    leaf_hash(leaves[paths[i % len(paths)][0]]),
                    paths[i % len(paths)][1],
                    root,
                ),
                samples,
            ),
        ),
        ("consistency_sizes", per_second(lambda i: consistency_sizes(i + 1, n), samples * 50)),
    ]
    print(f"ledger.tlog at {n:,} leaves, {samples:,} samples (2 cores, noisy: compare ratios)")
    base = rows[3][1]
    for name, rate in rows:
        print(f"{name:<28} {rate:>12,.0f} /s  {rate / base:>8.2f}x the inclusion path alone")


if __name__ == "__main__":
    main()
