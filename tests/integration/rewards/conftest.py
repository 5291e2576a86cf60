"""Rewards over a real ledger (SQLite and PostgreSQL), with a clock the test moves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ledger import Ledger
from monetization.rewards import Rewards, RewardsConfig

AZR = 10**18


class FakeClock:
    """Real time shifted by an offset the test controls (holds need a moving 'now')."""

    def __init__(self, start: datetime | None = None) -> None:
        self.offset = timedelta()
        if start is not None:
            self.offset = start - datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.offset += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    # Mid-day, so a test's few seconds never cross midnight unless it says so.
    return FakeClock(datetime(2030, 6, 12, 12, 0, tzinfo=UTC))


@pytest.fixture
def ledger_(engine: Engine, clock: FakeClock) -> Iterator[Ledger]:
    with Ledger(engine, clock=clock) as book:
        yield book


@pytest.fixture
def rewards(ledger_: Ledger, clock: FakeClock) -> Rewards:
    return Rewards(ledger_, settings=RewardsConfig(gifts_enabled=True), clock=clock)


def fund(rewards: Rewards, user: str, n_lessons: int, prefix: str = "fund") -> int:
    """Earn ``n_lessons`` x 5 AZR for ``user``; returns the amount."""
    for i in range(n_lessons):
        rewards.earnings.earn(f"{prefix}-{user}-{i}", user, "lesson.completed")
    return 5 * AZR * n_lessons
