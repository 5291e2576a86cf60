"""Ledger write throughput on PostgreSQL with durable commits.

Prints entries/s and p50/p99 latency per call for:

- (a) naive: one database transaction per entry (row locks, the journal head lock), each
  writer thread on its own connection;
- (b) group commit: writers hand entries to the ledger's writer thread, which commits
  whatever is queued in one transaction;
- (b) with writers handing over batches of 100 entries per call;
- (b) from asyncio: the writers are tasks of one event loop awaiting
  ``Ledger.post_entry_async`` (what the HTTP write routes do: no thread per waiting call);

with 1, 8 and 32 concurrent writers, spread over 1,000 accounts and hot on 10 accounts,
and, for scale, what this PostgreSQL absorbs when the same rows arrive by COPY in one
transaction per 500 entries (the ceiling for any design here).

Usage: ``.venv/bin/python bench/ledger_throughput.py [--seconds 3] [--url URL]``
(default URL: ``$AZORA_TEST_PG_URL`` with the database ``azora_bench``, recreated).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from benchdb import bench_url, fresh_database, pct
from sqlalchemy.engine import make_url

from ledger import Account, Ledger, NewEntry, Posted, Posting
from ledger.canonical import canonical_json, keccak256
from ledger.store.engine import make_engine

FUNDING = 10**12
ACCOUNTS = 1000
HOT = 10
ASYNC_LABEL = "(b) group commit, asyncio"


@dataclass
class Cell:
    label: str
    writers: int
    spread: str
    entries: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.entries / self.seconds

    def pct(self, q: float) -> float:
        return pct(self.latencies_ms, q)


def _setup(url: str) -> None:
    engine = make_engine(url)
    with Ledger(engine) as book:
        book.create_account(Account("world", "USD", allow_negative=True))
        funding = []
        for i in range(ACCOUNTS):
            book.create_account(Account(f"acct:{i:04d}", "USD"))
            funding.append(
                (NewEntry("bench.fund", (Posting("world", f"acct:{i:04d}", "USD", FUNDING),)), None)
            )
        book.post_entries(funding)
    engine.dispose()


def _request(rng: random.Random, spread: str) -> NewEntry:
    pool = HOT if spread == "hot" else ACCOUNTS
    a, b = rng.sample(range(pool), 2)
    return NewEntry(
        "bench.transfer",
        (Posting(f"acct:{a:04d}", f"acct:{b:04d}", "USD", rng.randint(1, 10_000)),),
    )


def _run(
    url: str, label: str, writers: int, spread: str, seconds: float, group: bool, per_call: int
) -> Cell:
    engine = make_engine(url, pool_size=writers + 2)
    book = Ledger(engine, group_commit=group)
    counts = [0] * writers
    latencies: list[list[float]] = [[] for _ in range(writers)]
    start_gate = threading.Barrier(writers + 1)
    stop_at = [0.0]

    def writer(w: int) -> None:
        rng = random.Random(w)
        start_gate.wait()
        while time.perf_counter() < stop_at[0]:
            items = [(_request(rng, spread), f"w{w}-{uuid.uuid4().hex}") for _ in range(per_call)]
            t0 = time.perf_counter()
            if per_call == 1:
                outcomes: list[object] = [book.post_entry(items[0][0], idempotency_key=items[0][1])]
            else:
                outcomes = list(book.post_entries(items))
            latencies[w].append((time.perf_counter() - t0) * 1000)
            failed = [o for o in outcomes if not isinstance(o, Posted)]
            if failed:  # funding is ample: any refusal is a bug in the benchmark or ledger
                raise SystemExit(f"unexpected outcome: {failed[0]!r}")
            counts[w] += per_call

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start_gate.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    book.close()
    engine.dispose()
    return Cell(label, writers, spread, sum(counts), elapsed, [x for xs in latencies for x in xs])


def _run_async(url: str, label: str, writers: int, spread: str, seconds: float) -> Cell:
    """``writers`` tasks of one event loop, each awaiting one entry at a time."""
    engine = make_engine(url, pool_size=4)
    book = Ledger(engine)
    counts = [0] * writers
    latencies: list[list[float]] = [[] for _ in range(writers)]

    async def writer(w: int, stop_at: float) -> None:
        rng = random.Random(w)
        while time.perf_counter() < stop_at:
            request, key = _request(rng, spread), f"w{w}-{uuid.uuid4().hex}"
            t0 = time.perf_counter()
            outcome = await book.post_entry_async(request, idempotency_key=key)
            latencies[w].append((time.perf_counter() - t0) * 1000)
            if not isinstance(outcome, Posted):
                raise SystemExit(f"unexpected outcome: {outcome!r}")
            counts[w] += 1

    async def main() -> float:
        began = time.perf_counter()
        await asyncio.gather(*(writer(w, began + seconds) for w in range(writers)))
        return time.perf_counter() - began

    elapsed = asyncio.run(main())
    book.close()
    engine.dispose()
    return Cell(label, writers, spread, sum(counts), elapsed, [x for xs in latencies for x in xs])


def _copy_ceiling(url: str, total: int, per_txn: int) -> Cell:
    """COPY the same rows (1 entry, 2 lines, 2 balance updates each), one txn per batch."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rng = random.Random(7)
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE copy_entries (LIKE entries INCLUDING ALL)")
        conn.execute("CREATE TABLE copy_lines (LIKE entry_lines INCLUDING ALL)")
        conn.execute("CREATE TABLE copy_balances AS SELECT * FROM balances")
        conn.execute("ALTER TABLE copy_balances ADD PRIMARY KEY (account_id)")
        conn.commit()
        seq = 0
        latencies: list[float] = []
        began = time.perf_counter()
        for _ in range(total // per_txn):
            t0 = time.perf_counter()
            entry_rows: list[tuple[object, ...]] = []
            line_rows: list[tuple[object, ...]] = []
            moved: dict[str, int] = {}
            for _ in range(per_txn):
                seq += 1
                a, b = rng.sample(range(ACCOUNTS), 2)
                src, dst, amount = f"acct:{a:04d}", f"acct:{b:04d}", rng.randint(1, 10_000)
                postings = canonical_json(
                    [{"source": src, "destination": dst, "asset": "USD", "amount": str(amount)}]
                ).decode()
                digest = keccak256(postings.encode())
                entry_id = str(uuid.uuid4())
                entry_rows.append(
                    (seq, entry_id, "posted", "bench.copy", postings, "{}", now, now, digest)
                )
                line_rows.append((src, seq, entry_id, "bench.copy", -amount, 0, now))
                line_rows.append((dst, seq, entry_id, "bench.copy", amount, 0, now))
                moved[src] = moved.get(src, 0) - amount
                moved[dst] = moved.get(dst, 0) + amount
            with conn.cursor() as cur:
                with cur.copy(
                    "COPY copy_entries (seq, id, type, kind, postings, metadata, effective_at,"
                    " recorded_at, hash) FROM STDIN"
                ) as copy:
                    for row in entry_rows:
                        copy.write_row(row)
                with cur.copy(
                    "COPY copy_lines (account_id, seq, entry_id, kind, amount, balance_after,"
                    " effective_at) FROM STDIN"
                ) as copy:
                    for line in line_rows:
                        copy.write_row(line)
                cur.executemany(
                    "UPDATE copy_balances SET balance = balance + %s WHERE account_id = %s",
                    [(delta, account) for account, delta in sorted(moved.items())],
                )
            conn.commit()
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - began
    return Cell(f"COPY, {per_txn}/txn", 1, "spread", seq, elapsed, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=bench_url("azora_bench"))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--writers", default="1,8,32")
    args = parser.parse_args()
    url = fresh_database(args.url)
    print(f"database {make_url(url).render_as_string(hide_password=True)}, durable commits")
    _setup(url)
    writer_counts = [int(w) for w in args.writers.split(",")]
    plan: list[tuple[str, bool, int]] = [
        ("(a) naive: txn per entry", False, 1),
        ("(b) group commit", True, 1),
        ("(b) group commit, 100/call", True, 100),
        (ASYNC_LABEL, True, 1),
    ]
    cells: list[Cell] = []

    def progress(step: str) -> None:
        print(f"  running {step}", flush=True)

    for spread in ("spread", "hot"):
        for label, group, per_call in plan:
            for writers in writer_counts:
                progress(f"{label}, {writers} writers, {spread}")
                if label == ASYNC_LABEL:
                    cells.append(_run_async(url, label, writers, spread, args.seconds))
                else:
                    cells.append(_run(url, label, writers, spread, args.seconds, group, per_call))
    progress("COPY ceiling")
    cells.append(_copy_ceiling(url, 20_000, 500))

    header = (
        f"{'path':<30} {'writers':>7} {'accounts':>9} {'entries/s':>10} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for c in cells:
        where = "1,000" if c.spread == "spread" else "10 hot"
        figures = f"{c.rate:>10,.0f} {c.pct(0.5):>8.1f} {c.pct(0.99):>8.1f}"
        print(f"{c.label:<30} {c.writers:>7} {where:>9} {figures}")
    print("(latency is per call: one entry, or one batch of 100 entries, or one COPY txn)")
    by = {(c.label, c.writers, c.spread): c for c in cells}
    top = max(writer_counts)
    for spread in ("spread", "hot"):
        naive_cell = by[(plan[0][0], top, spread)]
        group_cell = by[(plan[1][0], top, spread)]
        if naive_cell.rate > 0:
            print(
                f"ratio (b)/(a) at {top} writers, {spread}: "
                f"{group_cell.rate / naive_cell.rate:.1f}x "
                f"({group_cell.rate:,.0f} vs {naive_cell.rate:,.0f} entries/s)"
            )


if __name__ == "__main__":
    main()
