"""The writers' asyncio entry points and the group-commit writer's batching and session.

``Ledger.*_async`` must give exactly what the blocking methods give (idempotency, per-entry
outcomes, no overdraft, typed errors), from one event loop with many requests in flight,
mixed with thread callers, through either writer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, text

from ledger import (
    Account,
    HoldStatus,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    Ledger,
    LedgerError,
    NewEntry,
    Posted,
    Posting,
    UnknownAccount,
)
from ledger import writer as writer_module
from ledger.model import Entry
from ledger.store.engine import make_engine
from ledger.verify import verify
from tests.integration.ledgerkit import journal_size, open_accounts

pytestmark = pytest.mark.integration


def transfer(source: str, destination: str, amount: int, *, pending: bool = False) -> NewEntry:
    return NewEntry("transfer", (Posting(source, destination, "USD", amount),), pending=pending)


@pytest.fixture(params=[True, False], ids=["group", "direct"])
def any_book(request: pytest.FixtureRequest, engine: Engine) -> Ledger:
    book = Ledger(engine, group_commit=request.param)
    request.addfinalizer(book.close)
    open_accounts(book, "a", "b", world="world")
    return book


def test_async_entry_replays_conflicts_and_refuses_like_the_sync_one(any_book: Ledger) -> None:
    book = any_book

    async def scenario() -> None:
        first = await book.post_entry_async(transfer("world", "a", 500), idempotency_key="k1")
        assert not first.replayed and first.entry.seq == 1
        again = await book.post_entry_async(transfer("world", "a", 500), idempotency_key="k1")
        assert again.replayed and again.entry.id == first.entry.id
        with pytest.raises(IdempotencyConflict):
            await book.post_entry_async(transfer("world", "a", 501), idempotency_key="k1")
        with pytest.raises(InsufficientFunds):
            await book.post_entry_async(transfer("a", "b", 501), idempotency_key="k2")
        with pytest.raises(UnknownAccount):
            await book.post_entry_async(transfer("a", "nobody", 1))
        # a refused request did not consume its key
        ok = await book.post_entry_async(transfer("a", "b", 500), idempotency_key="k2")
        assert not ok.replayed

    asyncio.run(scenario())
    assert book.balance("a").balance == 0
    assert book.balance("b").balance == 500
    assert verify(book.engine).ok


def test_async_batch_gives_one_outcome_per_entry(any_book: Ledger) -> None:
    book = any_book
    bad_amount = transfer("world", "a", 0)  # validation error before the writer

    async def scenario() -> list[Posted | LedgerError]:
        return await book.post_entries_async(
            [
                (transfer("world", "a", 100), "b1"),
                (transfer("a", "b", 101), "b2"),  # overdraft: refused alone
                (bad_amount, "b3"),
                (transfer("a", "b", 60), "b4"),
                (transfer("world", "a", 100), "b1"),  # same key, same request: replay
            ]
        )

    outcomes = asyncio.run(scenario())
    assert [type(o).__name__ for o in outcomes] == [
        "Posted",
        "InsufficientFunds",
        "InvalidAmount",
        "Posted",
        "Posted",
    ]
    assert isinstance(outcomes[2], InvalidAmount)
    first, replay = outcomes[0], outcomes[4]
    assert isinstance(first, Posted) and isinstance(replay, Posted)
    assert replay.replayed and replay.entry.id == first.entry.id
    assert book.balance("a").balance == 40
    assert journal_size(book.engine) == (2, 4)


def test_async_hold_resolution(any_book: Ledger) -> None:
    book = any_book
    book.post_entry(transfer("world", "a", 100))

    async def scenario() -> None:
        hold = await book.post_entry_async(transfer("a", "b", 70, pending=True))
        state = await book.resolve_hold_async(hold.entry.id, "post")
        assert state.status is HoldStatus.POSTED
        repeat = await book.resolve_hold_async(hold.entry.id, "post")
        assert repeat.status is HoldStatus.POSTED and repeat.resolution == state.resolution

    asyncio.run(scenario())
    assert book.balance("b").balance == 70


def test_many_async_and_thread_callers_share_batches_without_overdraft(book: Ledger) -> None:
    open_accounts(book, "a", "b", world="world")
    book.post_entry(transfer("world", "a", 1000))

    def threads_spend() -> list[object]:
        got: list[object] = []
        for i in range(20):
            try:
                got.append(book.post_entry(transfer("a", "b", 10), idempotency_key=f"t{i}"))
            except InsufficientFunds as error:
                got.append(error)
        return got

    async def loop_spends() -> list[object]:
        async def one(i: int) -> object:
            try:
                return await book.post_entry_async(transfer("a", "b", 10), idempotency_key=f"l{i}")
            except InsufficientFunds as error:
                return error

        return list(await asyncio.gather(*(one(i) for i in range(150))))

    results: list[object] = []
    worker = threading.Thread(target=lambda: results.extend(threads_spend()))
    worker.start()
    results.extend(asyncio.run(loop_spends()))
    worker.join()
    posted = [r for r in results if isinstance(r, Posted)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert len(posted) == 100 and len(refused) == 70
    assert book.balance("a").balance == 0
    assert book.balance("b").balance == 1000
    assert verify(book.engine).ok


class _Recorder:
    """A batch hook recording how many entries each batch wrote (or failing on demand)."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.fail = False

    def __call__(self, _conn: Connection, new_entries: Sequence[Entry]) -> None:
        if self.fail:
            raise RuntimeError("hook failed on purpose")
        self.batches.append(len(new_entries))


def test_a_failed_batch_fails_every_caller_and_the_writer_goes_on(engine: Engine) -> None:
    hook = _Recorder()
    with Ledger(engine, hooks=(hook,)) as book:
        open_accounts(book, "a", world="world")
        hook.fail = True

        async def two() -> list[object]:
            return list(
                await asyncio.gather(
                    book.post_entry_async(transfer("world", "a", 1)),
                    book.post_entry_async(transfer("world", "a", 2)),
                    return_exceptions=True,
                )
            )

        assert all(isinstance(r, RuntimeError) for r in asyncio.run(two()))
        with pytest.raises(RuntimeError):
            book.post_entry(transfer("world", "a", 3))
        assert journal_size(engine) == (0, 0)
        hook.fail = False
        assert asyncio.run(book.post_entry_async(transfer("world", "a", 4))).entry.seq == 1
        assert book.balance("a").balance == 4


@contextmanager
def _head_held_elsewhere(pg_url: str) -> Iterator[tuple[Ledger, Connection]]:
    """A ledger with accounts ``world`` and ``a``, and another connection holding the journal
    head lock (``rollback()`` on it lets the writer go on)."""
    engine = make_engine(pg_url)
    locker = engine.connect()
    try:
        with Ledger(engine) as book:
            open_accounts(book, "a", world="world")
            locker.execute(text("SELECT seq FROM journal_head WHERE id = 1 FOR UPDATE"))
            yield book, locker
    finally:
        locker.close()
        engine.dispose()


def test_a_cancelled_caller_does_not_stop_its_batch(pg_url: str) -> None:
    with _head_held_elsewhere(pg_url) as (book, locker):

        async def scenario() -> None:
            task = asyncio.ensure_future(
                book.post_entry_async(transfer("world", "a", 5), idempotency_key="gone")
            )
            await asyncio.sleep(0.2)  # the writer waits for the head lock
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            locker.rollback()  # the writer goes on with the cancelled request's entry
            later = await book.post_entry_async(transfer("world", "a", 5), idempotency_key="gone")
            assert later.replayed

        asyncio.run(scenario())
        assert book.balance("a").balance == 5


def test_a_caller_waiting_past_the_timeout_gets_an_error_and_the_batch_still_stands(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "SUBMIT_TIMEOUT_S", 0.3)
    with _head_held_elsewhere(pg_url) as (book, locker):

        async def scenario() -> None:
            with pytest.raises(TimeoutError, match="no outcome within"):
                await book.post_entry_async(transfer("world", "a", 7), idempotency_key="slow")
            locker.rollback()  # the writer commits the entry nobody waits for any more
            later = await book.post_entry_async(transfer("world", "a", 7), idempotency_key="slow")
            assert later.replayed
            quick = await book.post_entry_async(transfer("world", "a", 1))  # a timer cancelled
            assert quick.entry.seq == later.entry.seq + 1

        asyncio.run(scenario())
        assert book.balance("a").balance == 8


@pytest.mark.parametrize("threads", [1, 2])
def test_requests_arriving_while_the_writer_waits_for_the_head_lock_join_its_batch(
    pg_url: str, threads: int
) -> None:
    """Another process's writer holds the head lock: what queues meanwhile is one batch
    (with one writer thread), or the batches of the threads waiting behind it (with two)."""
    engine = make_engine(pg_url)
    hook = _Recorder()
    locker = engine.connect()
    try:
        with Ledger(engine, hooks=(hook,), writer_threads=threads) as book:
            open_accounts(book, "a", world="world")
            hook.batches.clear()
            locker.execute(text("SELECT seq FROM journal_head WHERE id = 1 FOR UPDATE"))

            async def scenario() -> list[Posted]:
                first = asyncio.ensure_future(book.post_entry_async(transfer("world", "a", 1)))
                await asyncio.sleep(0.2)  # the writer took `first` and waits for the lock
                rest = [
                    asyncio.ensure_future(book.post_entry_async(transfer("world", "a", 1)))
                    for _ in range(30)
                ]
                await asyncio.sleep(0.05)
                locker.rollback()
                return list(await asyncio.gather(first, *rest))

            posted = asyncio.run(scenario())
            assert sorted(p.entry.seq for p in posted) == list(range(1, 32))
            if threads == 1:
                assert hook.batches == [31]
            else:  # the first, what the second thread gathered, and what was left
                assert sum(hook.batches) == 31 and len(hook.batches) <= threads + 1
    finally:
        locker.close()
        engine.dispose()


def test_the_writer_session_prepares_only_its_write_statements(pg_url: str) -> None:
    """Reads and hooks on the writer's connection are planned for their parameters each
    time (never prepared); the write statement is prepared and settles on a generic plan."""
    engine = make_engine(pg_url)
    with engine.connect() as conn:  # a pooled connection that has prepared a read of its own
        for _ in range(6):
            conn.exec_driver_sql("SELECT count(*) FROM entries WHERE seq > %(s)s", {"s": 0})
        conn.rollback()
    prepared: list[list[tuple[str, int]]] = []

    def look(conn: Connection, _entries: Sequence[Entry]) -> None:
        conn.exec_driver_sql("SELECT 1 FROM entries WHERE seq > %(s)s", {"s": 0}).all()
        rows = conn.exec_driver_sql(
            "SELECT statement, generic_plans FROM pg_prepared_statements"
        ).all()
        prepared.append([(str(r[0]), int(r[1])) for r in rows])

    try:
        with Ledger(engine, hooks=(look,)) as book:
            open_accounts(book, "a", world="world")
            for n in range(8):
                book.post_entry(transfer("world", "a", n + 1))
        last = prepared[-1]
        assert last, "the write statement is prepared"
        assert all(statement.startswith("WITH e AS (INSERT INTO entries") for statement, _ in last)
        assert last[0][1] > 0, "after a few runs it keeps a generic plan"
        with engine.connect() as conn:  # the engine's other connections plan every execution
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one() == "force_custom_plan"
    finally:
        engine.dispose()


def test_a_dropped_writer_connection_is_replaced(pg_url: str) -> None:
    engine = make_engine(pg_url)
    admin = make_engine(pg_url)
    try:
        with Ledger(engine) as book:
            open_accounts(book, "a", world="world")
            book.post_entry(transfer("world", "a", 1))
            with admin.connect() as conn:  # kill the writer's connection behind its back
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            assert asyncio.run(book.post_entry_async(transfer("world", "a", 2))).entry.seq == 2
            assert book.balance("a").balance == 3
    finally:
        admin.dispose()
        engine.dispose()


def test_two_writers_on_one_database_keep_the_journal_whole(pg_url: str) -> None:
    """Two group-commit writers (as two processes have) queue on the head lock."""
    engines = [make_engine(pg_url) for _ in range(2)]
    books = [Ledger(e) for e in engines]
    try:
        open_accounts(books[0], *(f"u{i}" for i in range(10)), world="world")
        for i in range(10):
            books[0].post_entry(transfer("world", f"u{i}", 100))

        async def spend(book: Ledger) -> list[object]:
            async def one(i: int) -> object:
                request = transfer(f"u{i % 10}", f"u{(i + 3) % 10}", 7)
                try:
                    return await book.post_entry_async(request, idempotency_key=f"{i}")
                except InsufficientFunds as error:
                    return error

            return list(await asyncio.gather(*(one(i) for i in range(200))))

        async def both() -> list[list[object]]:
            return list(await asyncio.gather(spend(books[0]), spend(books[1])))

        first, second = asyncio.run(both())
        # same keys, same principal, same requests: each key was recorded once
        for a, b in zip(first, second, strict=True):
            if isinstance(a, Posted) and isinstance(b, Posted):
                assert a.entry.id == b.entry.id
        total = sum(books[0].balance(f"u{i}").balance for i in range(10))
        assert total == 1000
        assert all(books[0].balance(f"u{i}").balance >= 0 for i in range(10))
        assert verify(engines[0]).ok
    finally:
        for book in books:
            book.close()
        for engine in engines:
            engine.dispose()


def test_sync_api_is_unchanged_for_accounts(book: Ledger) -> None:
    created, new = book.create_account(Account("x", "USD"))
    assert new and created.id == "x"
