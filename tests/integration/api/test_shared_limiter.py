"""The shared rate limiter against a real PostgreSQL: leases, one bucket for two limiters
(two processes' worth), and the per-process fallback when the database is unreachable."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from api.ratestore import SharedRateLimiter, accepted_bound, lease_size
from ledger.store.engine import make_engine

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    made = make_engine(pg_url)
    yield made
    made.dispose()


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "rate_buckets" in statement:
            seen.append(statement)

    return seen


def _accepted(limiters: list[SharedRateLimiter], requests: int, principal: str = "key:a") -> int:
    async def run() -> int:
        waits = [await limiters[n % len(limiters)].acquire(principal) for n in range(requests)]
        return sum(1 for wait in waits if wait == 0)

    return asyncio.run(run())


def test_two_limiters_share_one_bucket(engine: Engine) -> None:
    rate, burst = 0.001, 5  # no refill to speak of during the test
    limiters = [SharedRateLimiter(engine, rate, burst) for _ in range(2)]
    accepted = _accepted(limiters, 40)
    assert accepted == burst  # every leased token was spent: exactly the bucket
    assert accepted <= accepted_bound(rate, burst, 0, 2)
    assert _accepted(limiters, 3, principal="key:b") == 3  # buckets are per principal


def test_an_empty_bucket_is_refused_without_asking_again(engine: Engine) -> None:
    limiter = SharedRateLimiter(engine, 0.001, 2)
    statements = _statements(engine)
    assert _accepted([limiter], 2) == 2
    asked = len(statements)

    async def refused() -> list[float]:
        return [await limiter.acquire("key:a") for _ in range(50)]

    waits = asyncio.run(refused())
    assert all(wait > 0 for wait in waits)
    assert len(statements) == asked + 1  # one statement found it empty, then none


def test_leases_spare_the_database(engine: Engine) -> None:
    rate, burst = 2000.0, 4000
    limiters = [SharedRateLimiter(engine, rate, burst) for _ in range(2)]
    statements = _statements(engine)
    requests = 1000
    assert _accepted(limiters, requests) == requests
    lease = lease_size(rate, burst)
    assert lease > 1
    print(f"{requests} requests, {len(statements)} statements, lease {lease}")
    assert len(statements) <= requests // lease + 2


def test_concurrent_requests_wait_for_one_lease(engine: Engine) -> None:
    limiter = SharedRateLimiter(engine, 0.001, 3)
    statements = _statements(engine)

    async def run() -> list[float]:
        return await asyncio.gather(*(limiter.acquire("key:a") for _ in range(30)))

    waits = asyncio.run(run())
    assert sum(1 for wait in waits if wait == 0) == 3
    assert len(statements) <= 5  # not one per request


def test_unreachable_database_falls_back_to_the_process_bucket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:18201/nowhere?connect_timeout=2")
    limiter = SharedRateLimiter(dead, 0.001, 3)
    with caplog.at_level(logging.WARNING, logger="api.ratestore"):
        accepted = _accepted([limiter], 6)
    dead.dispose()
    assert accepted == 3
    assert "limiting per process meanwhile" in caplog.text


def test_prune_drops_only_refilled_buckets(engine: Engine) -> None:
    limiter = SharedRateLimiter(engine, 1.0, 1)  # a bucket is full again 1 s after its use
    assert _accepted([limiter], 1, principal="key:old") == 1
    time.sleep(1.2)
    assert _accepted([limiter], 1, principal="key:new") == 1
    assert limiter.prune() == 1
    with engine.connect() as conn:
        left = conn.execute(text("SELECT principal FROM rate_buckets")).scalars().all()
    assert left == ["key:new"]


def test_a_follower_given_up_does_not_cancel_the_lease(engine: Engine) -> None:
    limiter = SharedRateLimiter(engine, 0.001, 5)

    async def run() -> tuple[float, float, float]:
        leader = asyncio.ensure_future(limiter.acquire("key:a"))
        follower = asyncio.ensure_future(limiter.acquire("key:a"))
        other = asyncio.ensure_future(limiter.acquire("key:a"))
        await asyncio.sleep(0)  # the leader is in its lease, the others wait for it
        follower.cancel()
        return await leader, await other, await limiter.acquire("key:a")

    assert asyncio.run(run()) == (0.0, 0.0, 0.0)
