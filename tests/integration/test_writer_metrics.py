"""What the journal writers report to their metrics (``ledger.metrics``): every command's
outcome once, one head-lock wait per write transaction taken when the lock is held, and
the entries each committed transaction wrote; through either writer, on both back ends."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter

import pytest
from sqlalchemy import Engine, text

from ledger import (
    HoldAction,
    InsufficientFunds,
    Ledger,
    LedgerError,
    NewEntry,
    Posted,
    Posting,
    Unavailable,
    UnknownAccount,
)
from ledger.store.engine import make_engine
from tests.integration.ledgerkit import open_accounts

pytestmark = pytest.mark.integration


class Recorded:
    """A metrics sink that keeps every call (and when the head-lock report arrived)."""

    def __init__(self) -> None:
        self.waits: list[tuple[float, float]] = []  # (waited_s, perf_counter at the call)
        self.batches: list[int] = []
        self.outcomes: Counter[str] = Counter()

    def head_lock_held(self, waited_s: float) -> None:
        self.waits.append((waited_s, time.perf_counter()))

    def batch_written(self, entries: int) -> None:
        self.batches.append(entries)

    def entries_decided(self, outcome: str, count: int) -> None:
        self.outcomes[outcome] += count


def transfer(source: str, destination: str, amount: int, *, pending: bool = False) -> NewEntry:
    return NewEntry("transfer", (Posting(source, destination, "USD", amount),), pending=pending)


@pytest.mark.parametrize("group_commit", [True, False], ids=["group", "direct"])
def test_each_outcome_is_reported_once_and_each_transaction_once(
    engine: Engine, group_commit: bool
) -> None:
    recorded = Recorded()
    with Ledger(engine, group_commit=group_commit, metrics=recorded) as book:
        open_accounts(book, "a", "b", world="world")
        calls = 0
        book.post_entry(transfer("world", "a", 500), idempotency_key="k1", principal="test")
        book.post_entry(
            transfer("world", "a", 500), idempotency_key="k1", principal="test"
        )  # a replay
        with pytest.raises(InsufficientFunds):
            book.post_entry(transfer("a", "b", 10_000))
        with pytest.raises(UnknownAccount):
            book.post_entry(transfer("a", "nobody", 1))
        hold = book.post_entry(transfer("a", "b", 5, pending=True)).entry
        book.resolve_hold(hold.id, HoldAction.POST)
        calls += 6
        outcomes = book.post_entries(
            [
                (transfer("world", "b", 7), "b1"),
                (transfer("a", "b", 99_999), "b2"),
                (transfer("world", "a", 500), "k1"),
                (transfer("world", "b", 8), None),
            ],
            principal="test",
        )
        calls += 1
    batch_committed = sum(isinstance(o, Posted) and not o.replayed for o in outcomes)
    batch_replayed = sum(isinstance(o, Posted) and o.replayed for o in outcomes)
    batch_rejected = sum(isinstance(o, LedgerError) for o in outcomes)
    assert (batch_committed, batch_replayed, batch_rejected) == (2, 1, 1)
    assert recorded.outcomes == {
        "committed": 3 + batch_committed,  # k1, the hold, its resolution; the batch's
        "replayed": 1 + batch_replayed,
        "rejected": 2 + batch_rejected,
    }
    assert len(recorded.waits) == calls, "one head-lock wait per write transaction"
    assert all(waited >= 0 for waited, _ in recorded.waits)
    assert recorded.batches == [1, 1, 1, batch_committed], "only transactions that wrote"


def test_a_database_that_does_not_answer_reports_the_commands_unavailable() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{held.getsockname()[1]}/x")
        recorded = Recorded()
        try:
            with Ledger(engine, metrics=recorded) as book:
                with pytest.raises(Unavailable):
                    book.post_entry(transfer("world", "a", 1), idempotency_key="k")
                batch = [(transfer("world", "a", 1), "x"), (transfer("world", "b", 2), "y")]
                with pytest.raises(Unavailable):
                    book.post_entries(batch, principal="test")
        finally:
            engine.dispose()
    assert recorded.outcomes == {"unavailable": 1 + len(batch)}
    assert recorded.waits == [] and recorded.batches == []


def test_the_head_lock_wait_is_measured_until_the_lock_is_granted(pg_url: str) -> None:
    """Another process's writer holds the head lock: the writer reports its wait once the
    lock is granted (after the release), and everything queued meanwhile is one batch."""
    engine = make_engine(pg_url)
    recorded = Recorded()
    locker = engine.connect()
    held_s = 0.3
    try:
        with Ledger(engine, writer_threads=1, metrics=recorded) as book:
            open_accounts(book, "a", world="world")
            recorded.waits.clear()
            locker.execute(text("SELECT seq FROM journal_head WHERE id = 1 FOR UPDATE"))

            async def scenario() -> tuple[float, float]:
                queued = time.perf_counter()
                first = asyncio.ensure_future(book.post_entry_async(transfer("world", "a", 1)))
                await asyncio.sleep(held_s)  # the writer took `first` and waits for the lock
                rest = [
                    asyncio.ensure_future(book.post_entry_async(transfer("world", "a", 1)))
                    for _ in range(30)
                ]
                await asyncio.sleep(0.05)
                released = time.perf_counter()
                locker.rollback()
                await asyncio.gather(first, *rest)
                return queued, released

            queued, released = asyncio.run(scenario())
    finally:
        locker.close()
        engine.dispose()
    [(waited, reported)] = recorded.waits
    assert reported >= released, "reported once the lock was granted"
    assert waited <= reported - queued, "measured from the transaction's start"
    # The writer started its transaction while the test slept with the lock held.
    assert waited >= held_s / 3
    assert recorded.batches == [31] and recorded.outcomes == {"committed": 31}
