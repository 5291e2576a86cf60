"""What a rate-limit decision costs: the in-process bucket against the shared one on
PostgreSQL (leases), per request, with the service's default limits and with a low limit
(one statement per request), on one event loop as a worker runs them.

Usage: ``.venv/bin/python bench/rate_limit.py [--requests 20000]`` (database
``azora_bench_rate`` on ``$AZORA_TEST_PG_URL``'s server, recreated).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from benchdb import bench_url, fresh_database
from sqlalchemy import event

from api.limits import Limiter, RateLimiter
from api.ratestore import SharedRateLimiter, lease_size
from ledger.store.engine import make_engine

DEFAULT_RATE, DEFAULT_BURST = 20_000.0, 40_000  # azora/settings.py
LOW_RATE, LOW_BURST = 1_000_000.0, 10  # lease of 1 token, never refused here


def _time(limiter: Limiter, requests: int, principals: int) -> tuple[float, int]:
    async def run() -> int:
        allowed = 0
        for n in range(requests):
            allowed += await limiter.acquire(f"key:{n % principals}") == 0
        return allowed

    started = time.perf_counter()
    allowed = asyncio.run(run())
    return (time.perf_counter() - started) / requests * 1e6, allowed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--url", default=bench_url("azora_bench_rate"))
    args = parser.parse_args()
    engine = make_engine(fresh_database(args.url))
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args: object) -> None:
        statements[0] += 1

    print(f"{args.requests} decisions per run, one principal unless said")
    print("| limiter | limits | µs/request | statements | lease |")
    print("|---|---|---:|---:|---:|")
    for name, rate, burst in (
        ("default", DEFAULT_RATE, DEFAULT_BURST),
        ("low", LOW_RATE, LOW_BURST),
    ):
        runs: list[tuple[str, Limiter, int]] = [
            ("in-process", RateLimiter(rate, burst), 1),
            ("shared", SharedRateLimiter(engine, rate, burst), 1),
            ("shared, 100 principals", SharedRateLimiter(engine, rate, burst), 100),
        ]
        for label, limiter, principals in runs:
            statements[0] = 0
            us, _allowed = _time(limiter, args.requests, principals)
            lease = lease_size(rate, burst) if isinstance(limiter, SharedRateLimiter) else "-"
            print(f"| {label} | {name} | {us:.1f} | {statements[0]} | {lease} |")
    engine.dispose()


if __name__ == "__main__":
    main()
