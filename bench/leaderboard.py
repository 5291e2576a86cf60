"""Leaderboards at scale on PostgreSQL: 100,000 users, 5,000,000 earn events.

Prints the rebuild time of the projection and, per scope (global, class:{id},
friends:{user}) and window (all, week, month), p50/p99 of one leaderboard read: top 100
plus the caller's own rank (``Leaderboards.board``, as the API calls it, including the
"is the projection behind?" check).

How the events get there: the projection's rebuild source is ``entry_lines`` (per-account
lines with kind, amount and effective_at). The 5,000,000 earn lines are generated inside
PostgreSQL by one ``INSERT ... SELECT FROM generate_series`` (~100k lines/s here) instead
of going through ``Ledger.post_entries``: the ledger's durable path is a few thousand
entries/s on a small machine (about half an hour for 5M), and a rebuild reads only the lines.
The ledger path is measured separately at a smaller size (``--ledger-events``): real
entries through ``Ledger.post_entries`` in batches of 1,000, then the incremental
projector catching up on them (the path API reads take).

Users' activity is skewed (user = floor(N * r^2)), events spread over the last 60 days.
Each user is in one class of 100 and has 10 mutual friends. Scores are multiples of 5 AZR,
so large groups of users tie (up to ~15,000 on one score in a week): the worst case for
the tie-break count inside a bucket.

The caller's rank in ``global`` is a sum over ``leaderboard_buckets`` above the caller's
bucket plus two narrow counts inside it; ``--explain`` prints EXPLAIN ANALYZE of those
next to the plain "count every score above mine" it replaced, for a caller at the median.
The read phase runs ``--read-runs`` times (default 2: other jobs share the machine).

Usage: ``.venv/bin/python bench/leaderboard.py [--users 100000] [--events 5000000]
[--url URL] [--check] [--explain]`` (default URL: ``$AZORA_TEST_PG_URL`` with the
database ``azora_bench_lb``, recreated).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from azora.db import upgrade
from ledger import Account, Ledger, NewEntry, Posting
from ledger.store.engine import make_engine
from monetization.rewards.leaderboard import Leaderboards
from monetization.rewards.model import REWARDS_POOL, Window, user_account, window_start
from monetization.rewards.projection import Projector
from monetization.rewards.scores import BUCKET_DIGITS, bucket_bounds, bucket_of

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
QUERIES = 300
CLASS_SIZE = 100
FRIEND_OFFSETS = (1, 2, 3, 4, 5)  # i <-> i+k: ten mutual friends each
LEDGER_BATCH = 1000

GENERATE_LINES = """
INSERT INTO entry_lines (account_id, seq, entry_id, kind, amount, balance_after, effective_at)
SELECT 'user:u' || u || :suffix, g, 'bench-' || g,
       CASE WHEN g % 3 = 0 THEN 'reward.earned.quiz.passed'
            ELSE 'reward.earned.lesson.completed' END,
       CASE WHEN g % 3 = 0 THEN 10 ELSE 5 END * 1000000000000000000::numeric,
       CASE WHEN g % 3 = 0 THEN 10 ELSE 5 END * 1000000000000000000::numeric,
       now() - (random() * interval '60 days')
FROM (SELECT g, floor(:users * random() ^ 2)::int AS u
      FROM generate_series(:first, :last) AS g) AS s
"""


def database_url(args: argparse.Namespace) -> str:
    base = make_url(args.url or os.environ.get("AZORA_TEST_PG_URL") or DEFAULT_URL)
    name = args.db_name
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # Only DROP what exists: a DROP waits for every backend of the server to answer a
        # barrier, and a long COPY elsewhere can hold that up for minutes.
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.first() is not None:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def load(url: str, users: int, events: int) -> float:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    step = 1_000_000
    with engine.begin() as conn:
        for first in range(1, events + 1, step):
            last = min(first + step - 1, events)
            conn.execute(
                text(GENERATE_LINES),
                {"users": users, "first": first, "last": last, "suffix": ":azr"},
            )
        conn.execute(text("UPDATE journal_head SET seq = :n WHERE id = 1"), {"n": events})
        conn.execute(
            text(
                "INSERT INTO class_members (class_id, user_id, joined_at) "
                "SELECT 'c' || (g / :size), 'u' || g, now() FROM generate_series(0, :n - 1) g"
            ),
            {"size": CLASS_SIZE, "n": users},
        )
        for k in FRIEND_OFFSETS:
            conn.execute(
                text(
                    "INSERT INTO friend_requests (user_id, friend_id, created_at) "
                    "SELECT 'u' || g, 'u' || ((g + :k) % :n), now() "
                    "FROM generate_series(0, :n - 1) g UNION ALL "
                    "SELECT 'u' || ((g + :k) % :n), 'u' || g, now() "
                    "FROM generate_series(0, :n - 1) g"
                ),
                {"k": k, "n": users},
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def measure_reads(url: str, users: int) -> list[tuple[str, str, float, float]]:
    engine = make_engine(url)
    boards = Leaderboards(engine, lambda: datetime.now(UTC))
    rng = random.Random(7)
    rows = []
    for scope_kind in ("global", "class", "friends"):
        for window in Window:
            timings = []
            for _ in range(QUERIES):
                me = rng.randrange(users)
                scope = {
                    "global": "global",
                    "class": f"class:c{me // CLASS_SIZE}",
                    "friends": f"friends:u{me}",
                }[scope_kind]
                started = time.perf_counter()
                board = boards.board(scope, window, me=f"u{me}", limit=100)
                timings.append((time.perf_counter() - started) * 1000)
                assert len(board.entries) <= 100
            rows.append(
                (scope_kind, window.value, percentile(timings, 0.5), percentile(timings, 0.99))
            )
    engine.dispose()
    return rows


def ledger_path(url: str, n_events: int, users: int) -> tuple[float, float]:
    """Real earn entries through Ledger.post_entries, then the incremental projector."""
    engine = make_engine(url)
    with Ledger(engine) as book:
        book.create_account(Account(REWARDS_POOL, "AZR", allow_negative=True))
        for u in range(users):
            book.create_account(Account(user_account(f"l{u}"), "AZR"))
        started = time.perf_counter()
        for first in range(0, n_events, LEDGER_BATCH):
            batch = [
                (
                    NewEntry(
                        "reward.earned.lesson.completed",
                        (Posting(REWARDS_POOL, user_account(f"l{i % users}"), "AZR", 5 * 10**18),),
                    ),
                    f"bench-{i}",
                )
                for i in range(first, min(first + LEDGER_BATCH, n_events))
            ]
            book.post_entries(batch)
        post_s = time.perf_counter() - started
    started = time.perf_counter()
    Projector(engine).catch_up()
    project_s = time.perf_counter() - started
    engine.dispose()
    return n_events / post_s, n_events / project_s


def print_reads(url: str, users: int, run: int = 1) -> None:
    print(
        f"\nread run {run}: | scope | window | p50 ms | p99 ms |  "
        f"({QUERIES} reads each, top 100 + me)"
    )
    print("|---|---|---|---|")
    for scope, window, p50, p99 in measure_reads(url, users):
        print(f"| {scope} | {window} | {p50:.2f} | {p99:.2f} |")


def print_buckets(url: str) -> None:
    """How big the bucket table is, and how many users the narrow counts may visit."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT period, count(*) AS windows, max(n) AS buckets, max(top) AS biggest "
                "FROM (SELECT period, period_start, count(*) AS n, max(users) AS top "
                "      FROM leaderboard_buckets GROUP BY 1, 2) AS w GROUP BY 1 ORDER BY 1"
            )
        ).all()
        ties = conn.execute(
            text(
                "SELECT period, max(c) FROM (SELECT period, period_start, score, count(*) AS c "
                "FROM leaderboard_scores GROUP BY 1, 2, 3) AS t GROUP BY 1 ORDER BY 1"
            )
        ).all()
    engine.dispose()
    most_tied: dict[str, int] = {str(period): int(count) for period, count in ties}
    print(f"\nbuckets ({BUCKET_DIGITS} significant digits):")
    for r in rows:
        print(
            f"  {r.period}: {r.windows} windows, at most {r.buckets} buckets in one, at most "
            f"{r.biggest} users in one bucket, at most {most_tied[r.period]} users tied on one "
            f"score"
        )


EXPLAINED = {
    "before: count every score above mine": (
        "SELECT count(*) FROM leaderboard_scores WHERE period = :p AND period_start = :s "
        "AND score > :score"
    ),
    "now 1/3: users in the buckets above": (
        "SELECT coalesce(sum(users), 0) FROM leaderboard_buckets WHERE period = :p "
        "AND period_start = :s AND bucket > :bucket"
    ),
    "now 2/3: higher scores inside my bucket": (
        "SELECT count(*) FROM leaderboard_scores WHERE period = :p AND period_start = :s "
        "AND score > :score AND score < :high"
    ),
    "now 3/3: tied, smaller user id": (
        "SELECT count(*) FROM leaderboard_scores WHERE period = :p AND period_start = :s "
        "AND score > 0 AND score = :score AND user_id < :me"
    ),
}


def explain_rank(url: str) -> None:
    """EXPLAIN ANALYZE of the rank queries for the median user of global/all and week."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        for window in (Window.ALL, Window.WEEK):
            start = window_start(window, now).isoformat()
            n = conn.execute(
                text(
                    "SELECT count(*) FROM leaderboard_scores "
                    "WHERE period = :p AND period_start = :s"
                ),
                {"p": window.value, "s": start},
            ).scalar_one()
            me, score = conn.execute(
                text(
                    "SELECT user_id, score FROM leaderboard_scores WHERE period = :p "
                    "AND period_start = :s ORDER BY score DESC, user_id OFFSET :o LIMIT 1"
                ),
                {"p": window.value, "s": start, "o": n // 2},
            ).one()
            bucket = bucket_of(int(score))
            params = {
                "p": window.value,
                "s": start,
                "score": score,
                "bucket": bucket,
                "high": bucket_bounds(bucket)[1],
                "me": me,
            }
            print(f"\nEXPLAIN ANALYZE, global/{window.value}, caller {me} at rank ~{n // 2:,}:")
            for label, sql in EXPLAINED.items():
                plan = [
                    row[0]
                    for row in conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params)
                ]
                nodes = [line.strip() for line in plan if "Scan" in line or "Heap" in line]
                total = next(line for line in plan if line.startswith("Execution Time"))
                print(f"  {label}: {total}")
                for line in nodes:
                    print(f"      {line}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--ledger-events", type=int, default=20_000)
    parser.add_argument("--check", action="store_true", help="also time check-leaderboards")
    parser.add_argument("--url")
    parser.add_argument("--reads-only", action="store_true", help="reuse a loaded database")
    parser.add_argument("--read-runs", type=int, default=2, help="times to run the read phase")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the rank")
    parser.add_argument("--db-name", default="azora_bench_lb", help="recreated on each run")
    args = parser.parse_args()
    if args.reads_only:
        url = (
            make_url(args.url or os.environ.get("AZORA_TEST_PG_URL") or DEFAULT_URL)
            .set(database=args.db_name)
            .render_as_string(hide_password=False)
        )
        if args.explain:
            explain_rank(url)
        for run in range(1, args.read_runs + 1):
            print_reads(url, args.users, run)
        return
    url = database_url(args)
    begun = time.perf_counter()
    print(f"loading {args.events:,} earn lines for {args.users:,} users ...", flush=True)
    print(f"  generated in {load(url, args.users, args.events):.1f}s")
    engine = make_engine(url)
    started = time.perf_counter()
    rows = Projector(engine).rebuild()
    print(f"rebuild: {rows:,} scores in {time.perf_counter() - started:.1f}s")
    if args.check:
        started = time.perf_counter()
        problems = Projector(engine).check()
        print(f"check: {len(problems)} differences in {time.perf_counter() - started:.1f}s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE leaderboard_scores"))
        conn.execute(text("VACUUM ANALYZE leaderboard_buckets"))
    engine.dispose()
    print_buckets(url)
    if args.explain:
        explain_rank(url)
    for run in range(1, args.read_runs + 1):
        print_reads(url, args.users, run)
    post_rate, project_rate = ledger_path(url, args.ledger_events, 1000)
    print(
        f"\nledger path: {args.ledger_events:,} earn entries via post_entries at "
        f"{post_rate:,.0f}/s; projector catch-up at {project_rate:,.0f} entries/s"
    )
    print(f"\nwhole run: {time.perf_counter() - begun:.0f}s")


if __name__ == "__main__":
    main()
