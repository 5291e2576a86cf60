"""The token log at scale, on PostgreSQL, and what anchoring costs on chain.

With 1,000,000 leaves in the log (loaded by COPY: leaf rows and the perfect Merkle nodes
``CompactRange`` derives for them, exactly what the writer's hook stores), prints:

- inclusion proof generation through ``TokenLog`` (one query for O(log n) nodes): p50/p99;
- proof verification (no RPC): p50/p99;
- the cost of appending 100,000 more leaves (leaf hash + nodes) and computing the root the
  anchor needs, through the same functions the writer and the worker use;
- gas of a later ``anchor`` (with its consistency proof) at 10, 10^3 and 10^6 leaves
  (eth-tester, in process; ``bench/gas.py``), the gas per token
  transaction at 10,000 transactions per anchor, and an ERC-20 transfer for comparison.

Usage: ``.venv/bin/python bench/merkle_anchor.py [--leaves 1000000] [--url URL]``
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

import psycopg
from benchdb import bench_url, fresh_database, pct
from sqlalchemy.engine import make_url

from ledger.merkle import CompactRange, leaf_hash, verify_inclusion
from ledger.store.engine import make_engine
from ledger.tokenlog import TokenLog

SAMPLES = 2000


def _leaf(i: int) -> bytes:
    leaf = {
        "entry_id": f"bench-{i}",
        "event": "posted",
        "kind": "reward.earned",
        "postings": [
            {
                "amount": "5000000000000000000",
                "asset": "AZR",
                "destination": f"user:{i % 100_000}:azr",
                "source": "platform:azr:rewards",
            }
        ],
        "seq": i + 1,
    }
    return json.dumps(leaf, sort_keys=True, separators=(",", ":")).encode()


def _load(url: str, count: int) -> tuple[float, CompactRange]:
    """Leaves on one connection, nodes on another: a connection runs one COPY at a time."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    frontier = CompactRange()
    began = time.perf_counter()
    leaves_sql = "COPY token_leaves (leaf_index, seq, entry_id, leaf, leaf_hash) FROM STDIN"
    nodes_sql = "COPY merkle_nodes (level, idx, hash) FROM STDIN"
    with (
        psycopg.connect(dsn) as leaves_conn,
        psycopg.connect(dsn) as nodes_conn,
        leaves_conn.cursor() as leaves_cur,
        nodes_conn.cursor() as nodes_cur,
    ):
        with leaves_cur.copy(leaves_sql) as leaves, nodes_cur.copy(nodes_sql) as nodes:
            for i in range(count):
                data = _leaf(i)
                digest = leaf_hash(data)
                leaves.write_row((i, i + 1, f"bench-{i}", data.decode(), digest))
                for node in frontier.append(digest):
                    nodes.write_row((node.level, node.index, node.hash))
        leaves_conn.commit()
        nodes_conn.commit()
    return time.perf_counter() - began, frontier


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _gas() -> list[tuple[str, int]]:
    from eth_account import Account
    from gas import anchor_rows
    from web3 import Web3
    from web3.providers.eth_tester import EthereumTesterProvider
    from web3.types import TxParams, Wei

    from chain.token import AzoraToken

    w3 = Web3(EthereumTesterProvider())
    account = Account.from_key("0x" + "11" * 32)
    funding: TxParams = {"from": w3.eth.accounts[0], "to": account.address, "value": Wei(10**20)}
    w3.eth.send_transaction(funding)
    token, _ = AzoraToken.deploy(w3, account)
    # Later anchors (with their consistency proofs) at 10, 10^3 and 10^6 leaves.
    later = [r for r in anchor_rows(lambda: AzoraToken.deploy(w3, account)[0]) if "later (" in r[0]]
    rows = [(name, gas) for name, gas, _ in later]
    token.mint(account.address, 10**21)
    other = Account.from_key("0x" + "22" * 32).address
    token.transfer(other, 10**18)
    rows.append(("ERC-20 transfer (existing holder)", token.transfer(other, 10**18).gas_used))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=bench_url("azora_bench_merkle"))
    parser.add_argument("--leaves", type=int, default=1_000_000)
    args = parser.parse_args()
    fresh_database(args.url)
    print(f"loading {args.leaves:,} leaves and their Merkle nodes by COPY ...", flush=True)
    load_s, frontier = _load(args.url, args.leaves)
    engine = make_engine(args.url)
    log = TokenLog(engine)
    size = log.size()
    assert size == args.leaves
    root = log.root(size)
    assert root == frontier.root(), "stored nodes disagree with the frontier"
    rng = random.Random(5)
    indices = [rng.randrange(size) for _ in range(SAMPLES)]
    it = iter(indices)
    proofs: dict[int, list[bytes]] = {}

    def prove() -> None:
        index = next(it)
        proofs[index] = log.inclusion_proof(index, size)

    gen = _timed(prove, SAMPLES)
    checks = list(proofs.items())
    pos = iter(checks)

    def check() -> None:
        index, proof = next(pos)
        assert verify_inclusion(index, size, leaf_hash(_leaf(index)), proof, root)

    ver = _timed(check, len(checks))

    t0 = time.perf_counter()
    for i in range(size, size + 100_000):
        frontier.append(leaf_hash(_leaf(i)))
    new_root = frontier.root()
    append_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(100):
        log.root(size)
    root_ms = (time.perf_counter() - t0) * 10
    assert new_root != root

    rows = [
        (f"load {args.leaves:,} leaves + nodes (COPY), s", load_s, None, ""),
        ("inclusion proof from PostgreSQL, ms", pct(gen, 0.5), pct(gen, 0.99), "p99 <= 5"),
        ("verify an inclusion proof (no RPC), ms", pct(ver, 0.5), pct(ver, 0.99), "<= 1"),
        ("append 100,000 leaves (hash + nodes) + new root, s", append_s, None, "<= 1"),
        ("root of the stored log (what the worker anchors), ms", root_ms, None, ""),
    ]
    print()
    print(f"{'measure':<58} {'p50':>9} {'p99':>9}  target")
    print("-" * 90)
    for label, p50, p99, target in rows:
        tail = "" if p99 is None else f"{p99:9.3f}"
        print(f"{label:<58} {p50:>9.3f} {tail:>9}  {target}")
    print()
    gas = _gas()
    print(f"{'chain (eth-tester)':<58} {'gas':>9}")
    print("-" * 70)
    for label, used in gas:
        print(f"{label:<58} {used:>9,}")
    anchor_gas = sum(g for label, g in gas[:3]) / 3
    transfer = gas[-1][1]
    print(
        f"{'per token transaction at 10,000 per anchor':<58} {anchor_gas / 10_000:>9.1f}"
        f"  ({transfer / (anchor_gas / 10_000):,.0f}x less than an ERC-20 transfer)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
