"""Benchmark ledger.merkle on an in-memory log of 1,000,000 leaves.

    PYTHONPATH=. .venv/bin/python bench/merkle.py [--leaves 1000000] [--samples 10000]

Product targets: proof generation p99 <= 5 ms, verification <= 1 ms, root after 100,000
new leaves <= 1 s. Memory: MemoryTree keeps ~64 bytes per leaf (two 32-byte slots).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from ledger.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion

SEED = 20_240_601
PROOF_P99_TARGET_MS = 5.0
VERIFY_P99_TARGET_MS = 1.0
GROW_TARGET_S = 1.0

Row = tuple[str, str, str, str]


def leaf(i: int) -> bytes:
    return f'{{"entry":"e{i}","seq":{i}}}'.encode()


def latency_row(name: str, samples_s: list[float], target_ms: float) -> Row:
    qs = statistics.quantiles(samples_s, n=100, method="inclusive")
    p50_ms, p99_ms = qs[49] * 1e3, qs[98] * 1e3
    verdict = "OK" if p99_ms <= target_ms else "MISSED"
    return name, f"{p50_ms:.3f} ms", f"{p99_ms:.3f} ms", f"p99 <= {target_ms:g} ms {verdict}"


def print_table(rows: list[Row]) -> None:
    header: Row = ("operation", "p50 / total", "p99", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark ledger.merkle")
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--more", type=int, default=100_000, help="leaves appended afterwards")
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    size, more, samples, rng = args.leaves, args.more, args.samples, random.Random(SEED)
    rows: list[Row] = []
    clock = time.perf_counter

    tree = MemoryTree()
    start = clock()
    tree.extend(leaf_hash(leaf(i)) for i in range(size))
    build_s = clock() - start
    per_leaf = f"{build_s / size * 1e6:.1f} us/leaf"
    rows.append((f"append {size:,} leaves (leaf hash + nodes)", f"{build_s:.2f} s", per_leaf, "-"))
    root = tree.root()

    times: list[float] = []
    proofs: list[tuple[int, list[bytes]]] = []
    for index in (rng.randrange(size) for _ in range(samples)):
        start = clock()
        proof = tree.inclusion_proof(index, size)
        times.append(clock() - start)
        proofs.append((index, proof))
    rows.append(latency_row(f"inclusion proof, size {size:,}", times, PROOF_P99_TARGET_MS))

    times = []
    for index, proof in proofs:
        h = leaf_hash(leaf(index))
        start = clock()
        ok = verify_inclusion(index, size, h, proof, root)
        times.append(clock() - start)
        assert ok
    rows.append(latency_row("verify inclusion", times, VERIFY_P99_TARGET_MS))

    times = []
    checks: list[tuple[int, list[bytes]]] = []
    for m in (rng.randrange(1, size) for _ in range(samples)):
        start = clock()
        proof = tree.consistency_proof(m, size)
        times.append(clock() - start)
        checks.append((m, proof))
    name = f"consistency proof, m random, n {size:,}"
    rows.append(latency_row(name, times, PROOF_P99_TARGET_MS))

    times = []
    for m, proof in checks:
        root_m = tree.root(m)
        start = clock()
        ok = verify_consistency(m, size, root_m, root, proof)
        times.append(clock() - start)
        assert ok
    rows.append(latency_row("verify consistency", times, VERIFY_P99_TARGET_MS))

    # Leaf hashes are computed when events are committed; what the anchorer waits for is
    # folding the new leaves into the tree (the perfect nodes to store) and taking the root.
    new_hashes = [leaf_hash(leaf(i)) for i in range(size, size + more)]
    start = clock()
    tree.extend(new_hashes)
    new_root = tree.root()
    grow_s = clock() - start
    verdict = "OK" if grow_s <= GROW_TARGET_S else "MISSED"
    name = f"append {more:,} leaf hashes + root"
    rows.append((name, f"{grow_s:.3f} s", "-", f"<= {GROW_TARGET_S:g} s {verdict}"))
    start = clock()
    assert tree.root(tree.size) == new_root
    root_ms = (clock() - start) * 1e3
    rows.append((f"root from stored nodes, size {tree.size:,}", f"{root_ms:.3f} ms", "-", "-"))

    print(f"{samples:,} samples per latency row, random indices (seed {SEED})")
    print_table(rows)


if __name__ == "__main__":
    main()
