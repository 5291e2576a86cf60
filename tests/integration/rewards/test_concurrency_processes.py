"""Across processes on PostgreSQL: no overdraft, no oversold stock, no cap passed."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from ledger import InsufficientFunds, Ledger
from ledger.store.engine import make_engine
from monetization.rewards import CatalogItem, ItemType, Rewards
from monetization.rewards.errors import CapReached, OutOfStock
from monetization.rewards.tables import reward_catalog
from tests.integration.rewards.conftest import AZR, fund

PROCESSES = 4
THREADS = 5

pytestmark = pytest.mark.slow


def _worker(url: str, task: str, proc: int, start: Any, results: Any) -> None:
    engine = make_engine(url)
    with Ledger(engine) as book:
        rewards = Rewards(book)
        start.wait(30)

        def one(i: int) -> str:
            n = proc * THREADS + i
            try:
                if task == "redeem":
                    rewards.redemptions.request("u1", "pro", f"p-{n}")
                elif task == "stock":
                    rewards.redemptions.request(f"s{n}", "pro-limited", "k")
                else:
                    rewards.earnings.earn(f"e-{n}", "capper", "lesson.completed")
            except (InsufficientFunds, OutOfStock, CapReached) as error:
                return error.code
            return "ok"

        with ThreadPoolExecutor(THREADS) as pool:
            for outcome in pool.map(one, range(THREADS)):
                results.put(outcome)
    engine.dispose()


def _run(url: str, task: str) -> list[str]:
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, task, p, start, results)) for p in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in range(PROCESSES * THREADS)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return outcomes


@pytest.fixture
def setup(pg_url: str) -> Any:
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        rewards = Rewards(book)
        rewards.redemptions.put_item(CatalogItem("pro", "Pro", ItemType.FEATURE_UNLOCK, 10 * AZR))
        rewards.redemptions.put_item(
            CatalogItem("pro-limited", "Pro", ItemType.FEATURE_UNLOCK, 1 * AZR, stock=7)
        )
        fund(rewards, "u1", 10)  # 50 AZR: five redemptions of 10
        for n in range(PROCESSES * THREADS):
            rewards.earnings.earn(f"fund-s{n}", f"s{n}", "quiz.passed")
        yield pg_url, rewards
    engine.dispose()


def test_twenty_redemptions_in_four_processes_five_succeed(setup: Any) -> None:
    url, rewards = setup
    outcomes = _run(url, "redeem")
    assert outcomes.count("ok") == 5
    assert outcomes.count("insufficient-funds") == 15
    assert rewards.earnings.balance("u1") == (50 * AZR, 0)


def test_stock_across_processes(setup: Any) -> None:
    url, rewards = setup
    outcomes = _run(url, "stock")
    assert outcomes.count("ok") == 7 and outcomes.count("out-of-stock") == 13
    with rewards.book.engine.connect() as conn:
        left = conn.execute(
            select(reward_catalog.c.stock).where(reward_catalog.c.id == "pro-limited")
        )
        assert left.scalar() == 0


def test_caps_across_processes(setup: Any) -> None:
    url, rewards = setup
    outcomes = _run(url, "earn")  # 20 lessons of 5 AZR against a cap of 50 a day
    assert outcomes.count("ok") == 10 and outcomes.count("cap-reached") == 10
    assert rewards.earnings.balance("capper")[0] == 50 * AZR
