"""The marketplace at scale: search p99 over 100,000 courses, and purchases/s through the API.

1. ``--courses`` published courses (titles and descriptions drawn from a Zipf-distributed
   vocabulary, random categories, levels, languages, prices, tags, ratings, sales) are
   written straight into ``market_courses`` (set-up, not measured; on SQLite the FTS5
   triggers index them as they go in).
2. Search in-process through ``CourseSearch.search``: text queries (one or two words of
   the vocabulary's head and middle) with a filter (category, level, price or tag) in
   relevance order and in the other sorts, filter-only listings in every other sort, then
   the second pages of all those; p50/p99 per class. ``--before`` first times the same
   first pages as migration 0040's queries asked for them (bench/market_before.py), for a
   before/after in one run.
3. Purchases through the API: ``azora serve`` in a subprocess, ``--buyers`` user tokens,
   ``--threads`` keep-alive clients each buying distinct courses (paid, enterprise instructor:
   no limit on published courses,
   local provider); purchases/s and the p99 latency.

Usage: ``.venv/bin/python bench/marketplace.py [--courses 100000] [--queries 400]
[--purchases 2000] [--threads 8] [--before] [--sqlite PATH] [--url URL]`` (default URL:
``$AZORA_TEST_PG_URL`` with the database ``azora_bench_market``, recreated).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from benchdb import bench_url, fresh_database, pct
from market_before import expression_index, search_0040
from sqlalchemy import Engine, insert

from azora.db import upgrade
from ledger.store.engine import make_engine
from monetization.marketplace import Level, SearchQuery, Sort
from monetization.marketplace.search import CourseSearch
from monetization.marketplace.tables import market_course_tags, market_courses
from monetization.marketplace.text import document, words

ROOT = Path(__file__).resolve().parents[1]
VOCABULARY = [f"w{i}" for i in range(5000)]
TOPICS = [
    "python",
    "data",
    "design",
    "music",
    "web",
    "ml",
    "cloud",
    "security",
    "finance",
    "photo",
    "video",
    "writing",
    "math",
    "physics",
    "chess",
    "yoga",
]
CATEGORIES = ["programming", "design", "music", "business", "science", "health", "art", "lang"]
TAGS = [f"tag{i}" for i in range(200)]
START = datetime(2030, 1, 1, tzinfo=UTC)
CHUNK = 5000


def _zipf(rng: random.Random, n: int) -> int:
    weights = getattr(_zipf, "cum", None)
    if weights is None or len(weights) != n:
        total, weights = 0.0, []
        for r in range(1, n + 1):
            total += 1.0 / r
            weights.append(total)
        _zipf.cum = weights  # type: ignore[attr-defined]
    x = rng.random() * weights[-1]
    lo, hi = 0, n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if weights[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _text(rng: random.Random, n: int) -> str:
    picked = [VOCABULARY[_zipf(rng, len(VOCABULARY))] for _ in range(n)]
    picked.append(rng.choice(TOPICS))
    return " ".join(picked)


def populate(engine: Engine, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    tags: list[tuple[int, list[str]]] = []
    num = 0
    for i in range(count):
        title, description = _text(rng, 4), _text(rng, 30)
        chosen = rng.sample(TAGS, rng.randint(0, 3))
        ratings = rng.randint(0, 50)
        at = START + timedelta(seconds=rng.randint(0, 86400 * 365))
        rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "instructor_id": f"t{i % 5000}",
                "title": title,
                "description": description,
                "category": rng.choice(CATEGORIES),
                "level": rng.choice([lv.value for lv in Level]),
                "language": rng.choice(["en", "pt", "es"]),
                "price_cents": rng.choice([0, 999, 1999, 4999, 9999, 19999]),
                "tags": chosen,
                "status": "published",
                "search_tokens": document([title, description, *chosen]),
                "title_tokens": " ".join(dict.fromkeys(words(title))),
                "rating_sum": ratings * rng.randint(1, 5),
                "rating_count": ratings,
                "rating_centi": rng.randint(100, 500) if ratings else 0,
                "purchase_count": rng.randint(0, 1000),
                "material_count": 0,
                "created_at": at,
                "updated_at": at,
                "published_at": at,
                "version": 1,
            }
        )
        tags.append((i, chosen))
        if len(rows) == CHUNK or i == count - 1:
            with engine.begin() as conn:
                nums = (
                    conn.execute(
                        insert(market_courses).returning(
                            market_courses.c.num, sort_by_parameter_order=True
                        ),
                        rows,
                    )
                    .scalars()
                    .all()
                )
                links = [
                    {"tag": t, "course_num": n}
                    for n, (_, ts) in zip(nums, tags, strict=True)
                    for t in ts
                ]
                if links:
                    conn.execute(insert(market_course_tags), links)
            num += len(rows)
            rows, tags = [], []
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE market_courses")
            conn.exec_driver_sql("VACUUM ANALYZE market_course_tags")


def _queries(rng: random.Random, n: int) -> dict[str, list[SearchQuery]]:
    text_q, sorted_q, filter_q = [], [], []
    listing_sorts = [Sort.NEWEST, Sort.PRICE_ASC, Sort.PRICE_DESC, Sort.RATING, Sort.POPULARITY]
    for _ in range(n):
        word = VOCABULARY[rng.choice([rng.randint(0, 50), rng.randint(50, 1000)])]
        q = word if rng.random() < 0.6 else f"{word} {rng.choice(TOPICS)}"
        f = rng.choice(["category", "level", "price", "tag"])
        text = SearchQuery(
            q=q,
            category=rng.choice(CATEGORIES) if f == "category" else None,
            level=rng.choice(list(Level)) if f == "level" else None,
            max_price=4999 if f == "price" else None,
            tag=rng.choice(TAGS) if f == "tag" else None,
        )
        text_q.append(text)
        sorted_q.append(replace(text, sort=rng.choice(listing_sorts)))
        filter_q.append(
            SearchQuery(
                category=rng.choice(CATEGORIES) if rng.random() < 0.7 else None,
                level=rng.choice(list(Level)) if rng.random() < 0.3 else None,
                free=rng.choice([None, True, False]),
                min_rating_centi=rng.choice([None, 400]),
                tag=rng.choice(TAGS) if rng.random() < 0.2 else None,
                sort=rng.choice(listing_sorts),
            )
        )
    return {
        "text + filter (relevance)": text_q,
        "text + filter, other sorts": sorted_q,
        "filter-only listings": filter_q,
    }


def _report(name: str, times: list[float], note: str) -> None:
    print(
        f"  {name:34s} p50 {pct(times, 0.5):7.2f} ms  p99 {pct(times, 0.99):7.2f} ms  "
        f"max {max(times):7.2f} ms  ({note})"
    )


def bench_search(engine: Engine, n: int) -> None:
    """Each class of queries, first pages; then the second pages of those that have one."""
    search = CourseSearch(engine)
    groups = _queries(random.Random(11), n)
    for q in next(iter(groups.values()))[:20]:  # warm the caches
        search.search(q)
    following: list[SearchQuery] = []
    for name, queries in groups.items():
        times, hits, pages = [], 0, 0
        for query in queries:
            t0 = time.perf_counter()
            page = search.search(query)
            times.append((time.perf_counter() - t0) * 1000)
            hits += bool(page.data)
            if page.next_cursor is not None:
                pages += 1
                following.append(replace(query, cursor=page.next_cursor))
        _report(name, times, f"{len(times)} queries, {hits} with results, {pages} with a next page")
    times = []
    for query in following:
        t0 = time.perf_counter()
        search.search(query)
        times.append((time.perf_counter() - t0) * 1000)
    _report("second pages (every class)", times, f"{len(times)} queries")


def bench_search_before(engine: Engine, n: int) -> None:
    """The same first pages as 0040's queries asked for them (bench/market_before.py)."""
    groups = _queries(random.Random(11), n)
    with expression_index(engine):
        for q in next(iter(groups.values()))[:20]:
            search_0040(engine, q)
        for name, queries in groups.items():
            times = []
            for query in queries:
                t0 = time.perf_counter()
                search_0040(engine, query)
                times.append((time.perf_counter() - t0) * 1000)
            _report(name, times, f"{len(times)} queries, 0040's query shape")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_purchases(url: str, purchases: int, threads: int) -> None:
    admin_key = "bench-admin-key-0123456789abcdef-0123456789"
    port = _free_port()
    data = tempfile.mkdtemp(prefix="azora-bench-market-")
    env = {
        **os.environ,
        "AZORA_DATABASE_URL": url,
        "AZORA_ADMIN_API_KEY": admin_key,
        "AZORA_JWT_SECRET": "bench-jwt-secret-" * 3,
        "AZORA_ANCHORING": "off",
        "AZORA_PORT": str(port),
        "AZORA_DATA_DIR": data,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "azora.cli", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_key}"})
        for _ in range(300):
            try:
                if admin.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        sub = admin.post(
            "/v1/users/seller/subscription",
            headers={"Idempotency-Key": "b"},
            json={"plan": "enterprise", "payment_method": "pm_card_visa"},
        )
        assert sub.status_code == 200, sub.text
        course_ids = []
        for i in range(purchases // threads + 1):
            made = admin.post(
                "/v1/courses",
                json={
                    "title": f"Bench {i}",
                    "category": "bench",
                    "level": "beginner",
                    "language": "en",
                    "price": "19.99",
                    "instructor_id": "seller",
                },
            ).json()
            published = admin.post(f"/v1/courses/{made['id']}/publish")
            assert published.status_code == 200, published.text
            course_ids.append(made["id"])
        tokens = [
            admin.post("/v1/admin/tokens", json={"user_id": f"buyer{t}"}).json()["token"]
            for t in range(threads)
        ]
        latencies: list[float] = []
        errors: list[str] = []
        per = purchases // threads

        def run(t: int) -> None:
            client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[t]}"})
            for i in range(per):
                t0 = time.perf_counter()
                got = client.post(
                    f"/v1/courses/{course_ids[i]}/purchases",
                    json={"payment_method": "pm_card_visa"},
                    headers={"Idempotency-Key": f"b{t}-{i}"},
                )
                latencies.append((time.perf_counter() - t0) * 1000)
                if got.status_code != 201:
                    errors.append(got.text[:120])

        workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - t0
        done = per * threads - len(errors)
        print(
            f"  purchases through the API: {done} in {elapsed:.1f} s = {done / elapsed:.0f}/s "
            f"({threads} clients), p50 {pct(latencies, 0.5):.1f} ms, "
            f"p99 {pct(latencies, 0.99):.1f} ms, {len(errors)} errors"
        )
        if errors:
            print("   first error:", errors[0])
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--courses", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--purchases", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--sqlite", type=Path, default=None, help="also bench search on SQLite")
    parser.add_argument(
        "--before", action="store_true", help="also time 0040's query shapes (before/after)"
    )
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    url = args.url or bench_url("azora_bench_market")
    fresh_database(url)
    engine = make_engine(url)
    t0 = time.perf_counter()
    if args.courses:
        populate(engine, args.courses)
        print(f"PostgreSQL: {args.courses} courses written in {time.perf_counter() - t0:.0f} s")
        if args.before:
            print(" before (0040's queries):")
            bench_search_before(engine, args.queries)
            print(" after:")
        bench_search(engine, args.queries)
    engine.dispose()
    if args.sqlite is not None:
        args.sqlite.unlink(missing_ok=True)
        lite = make_engine(f"sqlite:///{args.sqlite}")
        upgrade(lite)
        t0 = time.perf_counter()
        populate(lite, args.courses)
        print(f"SQLite: {args.courses} courses written in {time.perf_counter() - t0:.0f} s")
        bench_search(lite, args.queries)
        lite.dispose()
    if args.purchases:
        bench_purchases(url, args.purchases, args.threads)


if __name__ == "__main__":
    main()
