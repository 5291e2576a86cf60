"""The writer's one-round-trip batches (ledger.store.pg_fast) and every way back to the
usual path: another process writing between two batches, a stored idempotency key, a
duplicate racing from another connection, limits. PostgreSQL only: it is its driver's path.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    Ledger,
    LimitExceeded,
    NewEntry,
    Posted,
    Posting,
)
from ledger.commands import PostEntry
from ledger.journal import apply_batch
from ledger.model import Limit
from ledger.store import pg_fast, pg_flight
from ledger.store.engine import make_engine
from ledger.store.tables import entries
from ledger.verify import verify
from tests.integration.ledgerkit import move, open_accounts

pytestmark = pytest.mark.integration


@pytest.fixture
def fast_results(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Per batch the writer offered to a cached path (committed and waited for, or
    launched and landed): whether it committed there."""
    seen: list[bool] = []

    def spying(module: object, name: str) -> None:
        real = getattr(module, name)

        def spy(*args: object, **kwargs: object) -> object:
            done = real(*args, **kwargs)
            seen.append(done is not None)
            return done

        monkeypatch.setattr(module, name, spy)

    spying(pg_fast, "commit_cached")
    spying(pg_flight, "land")
    yield seen


def _other_process_moves(url: str, source: str, destination: str, amount: int) -> None:
    engine = make_engine(url, pool_size=1)
    with Ledger(engine) as book:
        move(book, source, destination, amount, key="other-process")
    engine.dispose()


def _in_another_process(url: str, source: str, destination: str, amount: int) -> None:
    process = mp.get_context("spawn").Process(
        target=_other_process_moves, args=(url, source, destination, amount)
    )
    process.start()
    process.join(timeout=120)
    assert process.exitcode == 0


def _seqs_and_balance_lines(url: str) -> tuple[list[int], list[tuple[str, int, int]]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        seqs = list(conn.execute(select(entries.c.seq).order_by(entries.c.seq)).scalars())
        lines = [
            (r[0], int(r[1]), int(r[2]))
            for r in conn.execute(
                text(
                    "SELECT account_id, seq, balance_after FROM entry_lines "
                    "ORDER BY account_id, seq"
                )
            )
        ]
    report = verify(engine)
    engine.dispose()
    assert report.ok, report.problems
    return seqs, lines


def test_a_covered_batch_commits_in_one_round_trip(pg_url: str, fast_results: list[bool]) -> None:
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        open_accounts(book, "a", "b", world="world")
        fast_results.clear()
        move(book, "world", "a", 100, key="k1")  # reads "world" and "a" under the lock
        move(book, "world", "b", 1, key="k2")  # "b" is not cached yet: read under the lock
        third = move(book, "a", "b", 30, key="k3")  # decided from what the others committed
        assert fast_results.count(True) == 1 and fast_results[-1] is True  # the third only
        assert third.entry.seq == 3 and not third.replayed
        assert book.balance("a").balance == 70 and book.balance("b").balance == 31
    seqs, lines = _seqs_and_balance_lines(pg_url)
    assert seqs == [1, 2, 3]
    assert ("a", 3, 70) in lines and ("b", 3, 31) in lines
    engine.dispose()


def test_another_process_between_two_batches_makes_the_cache_stale(
    pg_url: str, fast_results: list[bool]
) -> None:
    """The cache says "a" holds 60; another process takes 50 of it; the next batch of this
    writer, which the cache would accept, is decided again under the lock and refused."""
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        open_accounts(book, "a", "b", "c", world="world")
        move(book, "world", "a", 100, key="fund")
        move(book, "a", "b", 40, key="first")  # cached: a = 60
        _in_another_process(pg_url, "a", "c", 50)  # a = 10, the head moves
        fast_results.clear()
        with pytest.raises(InsufficientFunds):
            move(book, "a", "b", 20, key="second")
        assert True not in fast_results  # the cached attempt found the head moved
        later = move(book, "a", "b", 10, key="third")  # the cache is current again
        assert fast_results[-1] is True
        assert later.entry.seq == 4
        assert [book.balance(x).balance for x in ("a", "b", "c")] == [0, 50, 50]
    seqs, lines = _seqs_and_balance_lines(pg_url)
    assert seqs == [1, 2, 3, 4]  # gapless: nothing of the stale attempt was written
    assert ("a", 3, 10) in lines and ("a", 4, 0) in lines
    engine.dispose()


def test_a_stored_key_replays_through_the_usual_path(pg_url: str, fast_results: list[bool]) -> None:
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        open_accounts(book, "a", "b", world="world")
        move(book, "world", "a", 100, key="fund")
        first = move(book, "a", "b", 10, key="once")
        fast_results.clear()
        again = move(book, "a", "b", 10, key="once")  # the unique index refuses the insert
        assert fast_results == [False]
        assert again.replayed and again.entry.id == first.entry.id
        with pytest.raises(IdempotencyConflict):
            move(book, "a", "b", 11, key="once")
        assert book.balance("a").balance == 90
        move(book, "a", "b", 5, key="after")
        assert fast_results[-1] is True  # the cache survived the refusal
    seqs, _ = _seqs_and_balance_lines(pg_url)
    assert seqs == [1, 2, 3]
    engine.dispose()


def test_a_duplicate_racing_from_another_connection_posts_once(
    pg_url: str, fast_results: list[bool]
) -> None:
    """Another writer holds the head lock and writes the same key, uncommitted; this
    writer's cached batch waits at the head, finds it moved, and replays that entry."""
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        open_accounts(book, "a", "b", world="world")
        move(book, "world", "a", 100, key="fund")  # the cache covers "world" and "a"
        move(book, "world", "b", 1, key="warm")
        request = NewEntry("transfer", (Posting("a", "b", "USD", 25),))
        other = engine.connect()
        other.begin()
        [theirs] = apply_batch(
            other,
            [PostEntry(request, "system", "raced")],
            datetime.now(UTC),
        )
        fast_results.clear()
        answers: list[Posted] = []
        worker = threading.Thread(
            target=lambda: answers.append(book.post_entry(request, idempotency_key="raced"))
        )
        worker.start()
        time.sleep(0.5)
        assert not answers, "the batch did not wait for the head lock"
        other.commit()
        other.close()
        worker.join(timeout=30)
        [ours] = answers
        assert fast_results == [False]
        assert isinstance(theirs, Posted)
        assert ours.replayed and ours.entry.id == theirs.entry.id
        assert book.balance("a").balance == 75
    seqs, _ = _seqs_and_balance_lines(pg_url)
    assert seqs == [1, 2, 3]
    engine.dispose()


def test_entries_with_limits_take_the_usual_path(pg_url: str, fast_results: list[bool]) -> None:
    engine = make_engine(pg_url)
    now = datetime.now(UTC)
    day = Limit("b", "gift", now - timedelta(hours=1), now + timedelta(hours=23), 50)
    with Ledger(engine) as book:
        open_accounts(book, "a", "b", world="world")
        move(book, "world", "a", 100, key="fund")
        move(book, "world", "b", 1, key="warm")
        fast_results.clear()
        gift = NewEntry("gift", (Posting("a", "b", "USD", 40),), limits=(day,))
        book.post_entry(gift, idempotency_key="g1")
        with pytest.raises(LimitExceeded):
            book.post_entry(
                NewEntry("gift", (Posting("a", "b", "USD", 20),), limits=(day,)),
                idempotency_key="g2",
            )
        assert True not in fast_results
        assert book.balance("b").balance == 41
    engine.dispose()


def test_a_statement_dropped_under_the_writer_is_prepared_again(
    pg_url: str, fast_results: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached batch's statement is prepared once per connection; when it is gone
    (deallocated behind the writer's back), the batch that finds it gone takes the usual
    path, the statement is prepared again, and batches after it commit in one round trip."""
    connections: list[Any] = []
    real = pg_fast.prepare

    def spy(raw: Any, types: list[int]) -> None:
        connections.append(raw)
        real(raw, types)

    monkeypatch.setattr(pg_fast, "prepare", spy)
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        open_accounts(book, "a", "b", world="world")
        move(book, "world", "a", 100, key="k1")
        move(book, "world", "b", 1, key="k2")
        move(book, "a", "b", 30, key="k3")  # the first cached batch: prepares the statement
        assert fast_results[-1] is True
        raw = connections[-1]
        raw.autocommit = True  # the writer is idle between batches: its connection is free
        raw.execute(f"DEALLOCATE {pg_fast.NAME.decode()}")
        assert _prepared_here(raw) == 0
        fourth = move(book, "a", "b", 5, key="k4")  # finds it gone: the usual path
        assert fast_results[-1] is False
        fifth = move(book, "a", "b", 5, key="k5")
        assert _prepared_here(raw) == 1
        raw.autocommit = False
        assert fast_results[-1] is True and connections[-1] is raw
        assert (fourth.entry.seq, fifth.entry.seq) == (4, 5)
        assert book.balance("a").balance == 60 and book.balance("b").balance == 41
    seqs, _ = _seqs_and_balance_lines(pg_url)
    assert seqs == [1, 2, 3, 4, 5]
    engine.dispose()


def _prepared_here(raw: Any) -> int:
    found = raw.execute(
        "SELECT count(*) FROM pg_prepared_statements WHERE name = %s",
        (pg_fast.NAME.decode(),),
    ).fetchone()
    return int(found[0])


def test_a_refused_batch_rolling_back_keeps_the_next_ones_in_one_round_trip(
    pg_url: str, fast_results: list[bool]
) -> None:
    """A batch the usual path refuses entirely rolls back, and psycopg then deallocates the
    session's prepared statements (the cached batch's too): the next batch prepares it
    again and still commits in one round trip."""
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        open_accounts(book, "a", "b", "c", world="world")
        move(book, "world", "a", 100, key="fund")
        move(book, "world", "b", 1, key="warm")
        move(book, "a", "b", 10, key="cached")  # flies: the statement is prepared
        with pytest.raises(InsufficientFunds):
            move(book, "c", "a", 10, key="refused")  # "c" is not cached: usual path, rollback
        fast_results.clear()
        for n in range(3):
            move(book, "a", "b", 1, key=f"after-{n}")
        assert fast_results == [True, True, True]
    seqs, _ = _seqs_and_balance_lines(pg_url)
    assert seqs == [1, 2, 3, 4, 5, 6]
    engine.dispose()
