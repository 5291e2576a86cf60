"""One writer shared by several processes (ledger/writer_service.py), on PostgreSQL.

The service runs in a thread with its own event loop; each "worker" is a thread with its
own event loop and its own Ledger whose asyncio callers go through the socket (as the HTTP
workers of ``azora serve`` do). What they get must be what a Ledger of their own gives:
outcomes per entry, errors as values with their fields, one gapless chain, no overdraft.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    Ledger,
    LedgerError,
    NewEntry,
    Posted,
    Posting,
    Unavailable,
)
from ledger.store.engine import make_engine
from ledger.verify import verify
from ledger.writer import GroupCommitWriter
from ledger.writer_service import WriterService
from tests.integration.ledgerkit import open_accounts

pytestmark = pytest.mark.integration


def transfer(source: str, destination: str, amount: int) -> NewEntry:
    return NewEntry("transfer", (Posting(source, destination, "USD", amount),))


class Service:
    """A WriterService on ``path``, in a thread of its own, until stopped."""

    def __init__(self, engine: Engine, path: str) -> None:
        self.writer = GroupCommitWriter(engine, Ledger(engine, group_commit=False).clock)
        self.service = WriterService(self.writer, path)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(self.service.serve(ready.set))
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self.task)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)
        self.writer.close()


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    yield eng
    eng.dispose()


@pytest.fixture
def socket_path(tmp_path: Path) -> str:
    return str(tmp_path / "writer.sock")


@pytest.fixture
def service(engine: Engine, socket_path: str) -> Iterator[Service]:
    running = Service(engine, socket_path)
    yield running
    running.stop()


def _book(engine: Engine, path: str) -> Ledger:
    return Ledger(engine, writer_socket=path)


def test_workers_share_one_chain_and_the_errors_arrive_whole(
    engine: Engine, service: Service, socket_path: str
) -> None:
    setup = Ledger(engine, group_commit=False)
    open_accounts(setup, "a", "b", world="world")
    results: dict[int, list[Posted | LedgerError]] = {}

    def worker(number: int) -> None:
        book = _book(engine, socket_path)

        async def run() -> list[Posted | LedgerError]:
            calls = [
                book.post_entry_async(
                    transfer("world", "a", 1), idempotency_key=f"w{number}-{i}", principal="p"
                )
                for i in range(40)
            ]
            calls.append(
                book.post_entry_async(transfer("b", "a", 10**9), idempotency_key=f"w{number}-x")
            )
            return list(await asyncio.gather(*calls, return_exceptions=True))  # type: ignore[arg-type]

        try:
            results[number] = asyncio.run(run())
        finally:
            book.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for outcomes in results.values():
        assert all(isinstance(o, Posted) for o in outcomes[:-1]), outcomes
        refused = outcomes[-1]
        assert isinstance(refused, InsufficientFunds) and refused.account_id == "b"
    assert len(results) == 3
    seqs = sorted(o.entry.seq for outs in results.values() for o in outs if isinstance(o, Posted))
    assert seqs == list(range(1, 121))  # gapless, one chain for all workers
    assert verify(engine).ok
    assert setup.balance("a").balance == 120
    with engine.connect() as conn:
        commits = conn.execute(text("SELECT count(DISTINCT recorded_at) FROM entries")).scalar()
    assert commits is not None and commits < 120  # the workers' requests shared commits


def test_replays_and_conflicts_go_through_the_service(
    engine: Engine, service: Service, socket_path: str
) -> None:
    setup = Ledger(engine, group_commit=False)
    open_accounts(setup, "a", world="world")
    book = _book(engine, socket_path)

    async def run() -> None:
        first = await book.post_entry_async(transfer("world", "a", 5), idempotency_key="k")
        again = await book.post_entry_async(transfer("world", "a", 5), idempotency_key="k")
        assert again.replayed and again.entry.id == first.entry.id
        with pytest.raises(IdempotencyConflict):
            await book.post_entry_async(transfer("world", "a", 6), idempotency_key="k")
        many = await book.post_entries_async(
            [(transfer("world", "a", 1), f"m{i}") for i in range(5)], principal="p"
        )
        assert all(isinstance(m, Posted) for m in many)

    try:
        asyncio.run(run())
    finally:
        book.close()
    assert setup.balance("a").balance == 10


def test_without_the_service_a_worker_writes_for_itself(engine: Engine, socket_path: str) -> None:
    setup = Ledger(engine, group_commit=False)
    open_accounts(setup, "a", world="world")
    book = _book(engine, socket_path)  # nothing listens there
    try:
        posted = asyncio.run(book.post_entry_async(transfer("world", "a", 3)))
        assert posted.entry.seq == 1
        assert book.post_entry(transfer("world", "a", 4)).entry.seq == 2  # threads: local
    finally:
        book.close()


def test_a_stopped_service_fails_in_flight_requests_then_falls_back(
    engine: Engine, socket_path: str
) -> None:
    setup = Ledger(engine, group_commit=False)
    open_accounts(setup, "a", world="world")
    running = Service(engine, socket_path)
    book = _book(engine, socket_path)

    async def run() -> None:
        assert (await book.post_entry_async(transfer("world", "a", 1))).entry.seq == 1
        running.stop()
        await asyncio.sleep(0.2)
        try:
            later = await book.post_entry_async(transfer("world", "a", 1))
        except Unavailable:  # the connection's end seen only now: the next call falls back
            later = await book.post_entry_async(transfer("world", "a", 1))
        assert later.entry.seq == 2

    try:
        asyncio.run(run())
    finally:
        book.close()
