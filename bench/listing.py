"""GET /v1/accounts and /v1/entries at the ledger: query latency with and without the
indexes of migration 0080_list_indexes, and what those indexes cost the write path.

    .venv/bin/python bench/listing.py [--entries 20000] [--rounds 30]

Prints figures and same-run ratios; asserts nothing. PostgreSQL at $AZORA_TEST_PG_URL's
server, database azora_bench_listing (recreated).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from benchdb import bench_url, fresh_database, pct
from sqlalchemy import Engine, text

from ledger import Account, EntryFilter, Ledger, NewEntry, Posting
from ledger.store.engine import make_engine

ACCOUNTS = 400
KINDS = [f"bench.kind{i}" for i in range(20)]
BATCH = 500
START = datetime(2030, 1, 1, tzinfo=UTC)
INDEXES = {
    "accounts_asset_id": "CREATE INDEX accounts_asset_id ON accounts (asset, id)",
    "entries_kind_seq": "CREATE INDEX entries_kind_seq ON entries (kind, seq)",
    "entries_effective_at": "CREATE INDEX entries_effective_at ON entries (effective_at)",
}


def _load(book: Ledger, first: int, count: int) -> float:
    """Post ``count`` entries in batches; entries per second."""
    started = time.perf_counter()
    for base in range(first, first + count, BATCH):
        items = []
        for i in range(base, min(base + BATCH, first + count)):
            posting = Posting("world:bench", f"user:{i % ACCOUNTS}:usd", "USD", 100 + i % 7)
            when = START + timedelta(minutes=i)
            items.append((NewEntry(KINDS[i % len(KINDS)], (posting,), effective_at=when), None))
        outcomes = book.post_entries(items, principal="bench")
        assert all(not isinstance(o, Exception) for o in outcomes)
    return count / (time.perf_counter() - started)


def _set_indexes(engine: Engine, *, present: bool) -> None:
    with engine.begin() as conn:
        for name, ddl in INDEXES.items():
            conn.execute(text(ddl.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS")))
            if not present:
                conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text("ANALYZE"))


def _measure(
    engine: Engine,
    queries: dict[str, Callable[[], object]],
    rounds: int,
    into: dict[str, list[float]],
) -> None:
    for _ in range(rounds):
        for name, query in queries.items():
            started = time.perf_counter()
            query()
            into[name].append((time.perf_counter() - started) * 1000)


def _queries(book: Ledger, total: int) -> dict[str, Callable[[], object]]:
    middle = START + timedelta(minutes=total // 2)
    return {
        "accounts ?asset=AZR": lambda: book.list_accounts(asset="AZR", limit=100),
        "accounts ?prefix=user:12": lambda: book.list_accounts(prefix="user:12", limit=100),
        "entries ?kind=(rare)": lambda: book.list_entries(EntryFilter(kinds=["rare.kind"])),
        "entries ?kind=bench.kind3": lambda: book.list_entries(EntryFilter(kinds=[KINDS[3]])),
        "entries ?since&until (1 h)": lambda: book.list_entries(
            EntryFilter(since=middle, until=middle + timedelta(hours=1))
        ),
        "entries ?account=": lambda: book.list_entries(EntryFilter(account="user:7:usd")),
        "entries (newest)": lambda: book.list_entries(EntryFilter()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    url = fresh_database(bench_url("azora_bench_listing"))
    engine = make_engine(url)
    with Ledger(engine) as book:
        book.create_account(Account("world:bench", "USD", allow_negative=True))
        for i in range(ACCOUNTS):
            book.create_account(Account(f"user:{i}:usd", "USD"))
        book.create_account(Account("user:0:azr", "AZR"))
        book.post_entry(
            NewEntry("rare.kind", (Posting("world:bench", "user:1:usd", "USD", 1),)),
            principal="bench",
        )
        _load(book, 0, args.entries)
        queries = _queries(book, args.entries)
        indexed: dict[str, list[float]] = {name: [] for name in queries}
        bare: dict[str, list[float]] = {name: [] for name in queries}
        writes: dict[bool, list[float]] = {True: [], False: []}
        loaded = args.entries
        _measure(engine, queries, 3, {n: [] for n in queries})  # warm the caches
        # Alternate with and without the indexes, so drift on a shared machine hits both.
        for _ in range(2):
            for with_indexes in (True, False):
                _set_indexes(engine, present=with_indexes)
                _measure(engine, queries, args.rounds, indexed if with_indexes else bare)
                writes[with_indexes].append(_load(book, loaded, args.entries // 4))
                loaded += args.entries // 4
        _set_indexes(engine, present=True)
    engine.dispose()
    print(
        f"{args.entries}+ entries, {ACCOUNTS} accounts, {len(KINDS)} kinds; "
        f"p50 of {2 * args.rounds} per query, alternating with and without the indexes"
    )
    print(f"{'query':32} {'indexed ms':>11} {'without ms':>11} {'ratio':>7}")
    for name in queries:
        fast, slow = pct(indexed[name], 0.5), pct(bare[name], 0.5)
        print(f"{name:32} {fast:11.2f} {slow:11.2f} {slow / fast:6.1f}x")
    with_rate, without_rate = (sum(writes[k]) / len(writes[k]) for k in (True, False))
    print(
        f"write path, batches of {BATCH}: {with_rate:,.0f} entries/s with the indexes, "
        f"{without_rate:,.0f}/s without: {with_rate / without_rate:.2f}x "
        f"(runs: {[round(r) for r in writes[True]]} vs {[round(r) for r in writes[False]]})"
    )


if __name__ == "__main__":
    main()
