"""Cached batches in the air (ledger.flights, ledger.store.pg_flight): concurrent callers get
batches launched behind one another, and a connection lost while batches are in the air
neither loses nor doubles an entry. PostgreSQL only: it is its driver's path."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ledger import Ledger, NewEntry, Posting, Unavailable
from ledger.store import pg_flight
from ledger.store.engine import make_engine
from ledger.verify import verify
from tests.integration.ledgerkit import open_accounts

pytestmark = pytest.mark.integration

CLIENTS = 16
ACCOUNTS = 16


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Batches launched alone and behind another one still in the air."""
    seen: Counter[str] = Counter()
    real = pg_flight.launch

    def spy(raw: Any, cache: Any, after: Any, commands: Any, **kwargs: Any) -> Any:
        flight = real(raw, cache, after, commands, **kwargs)
        if flight is not None:
            seen["behind" if after is not None else "alone"] += 1
        return flight

    monkeypatch.setattr(pg_flight, "launch", spy)
    yield seen


def _gift(user: str) -> NewEntry:
    return NewEntry("t", (Posting("world", user, "USD", 1),))


def _funded(book: Ledger) -> None:
    users = [f"u{i}" for i in range(ACCOUNTS)]
    open_accounts(book, *users, world="world")
    for user in users:  # the writer's cache now covers every account
        book.post_entry(NewEntry("fund", (Posting("world", user, "USD", 1),)))


async def _clients(book: Ledger, rounds: int) -> tuple[dict[str, str], list[str]]:
    """CLIENTS callers, ``rounds`` keyed entries each, each pausing up to 2 ms between two
    (as HTTP clients do: they do not all arrive together): entry ids by key, keys that
    failed."""
    pauses = random.Random(7)
    posted: dict[str, str] = {}
    failed: list[str] = []

    async def one(n: int) -> None:
        for j in range(rounds):
            key = f"c{n}-{j}"
            request = NewEntry("t", (Posting("world", f"u{(n + j) % ACCOUNTS}", "USD", 1),))
            try:
                done = await book.post_entry_async(request, idempotency_key=key)
                posted[key] = done.entry.id
            except Unavailable:
                failed.append(key)
            await asyncio.sleep(pauses.random() * 0.002)

    await asyncio.gather(*(one(n) for n in range(CLIENTS)))
    return posted, failed


def _stored(engine: Engine) -> tuple[Counter[str], dict[str, str], list[int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT idempotency_key, id FROM entries WHERE idempotency_key IS NOT NULL")
        ).all()
        seqs = list(conn.execute(text("SELECT seq FROM entries ORDER BY seq")).scalars())
    return Counter(r[0] for r in rows), {r[0]: r[1] for r in rows}, seqs


def test_concurrent_callers_get_batches_launched_behind_one_another(
    pg_url: str, launches: Counter[str]
) -> None:
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        _funded(book)
        posted, failed = asyncio.run(_clients(book, rounds=30))
        assert not failed and len(posted) == CLIENTS * 30
        assert launches["behind"] > 0, launches  # two batches were in the air at once
        balances = sum(book.balance(f"u{i}").balance for i in range(ACCOUNTS))
    counts, ids, seqs = _stored(engine)
    assert set(counts.values()) == {1} and ids == posted
    assert seqs == list(range(1, len(seqs) + 1))
    assert balances == ACCOUNTS + CLIENTS * 30
    report = verify(engine)
    assert report.ok, report.problems
    engine.dispose()


def test_a_connection_lost_with_batches_in_the_air_loses_and_doubles_nothing(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's backend is killed twice, each time right after a batch was launched
    behind another one still in the air (the first may have committed, its answer is
    lost): every entry a caller was told about is stored once, under its key (the usual
    path replays what had committed); a caller told "unavailable" retries with the same key
    and gets one entry too; the journal stays gapless and verifies."""
    engine, admin = make_engine(pg_url), make_engine(pg_url)
    kills: list[int] = []
    real = pg_flight.launch

    def launch_then_kill(raw: Any, cache: Any, after: Any, commands: Any, **kwargs: Any) -> Any:
        flight = real(raw, cache, after, commands, **kwargs)
        if flight is not None and after is not None and len(kills) < 2:
            pid = raw.pgconn.backend_pid
            with admin.connect() as conn:
                alive = conn.execute(
                    text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}
                ).scalar_one()
            if alive:  # (a launch on the connection already killed finds no backend)
                kills.append(pid)
        return flight

    monkeypatch.setattr(pg_flight, "launch", launch_then_kill)
    try:
        with Ledger(engine) as book:
            _funded(book)
            posted, failed = asyncio.run(_clients(book, rounds=60))
            assert len(kills) == 2 and kills[0] != kills[1]  # a new connection the 2nd time
            for key in failed:  # what a caller does with "unavailable": the same request again
                n, j = (int(x) for x in key[1:].split("-"))
                request = NewEntry("t", (Posting("world", f"u{(n + j) % ACCOUNTS}", "USD", 1),))
                posted[key] = book.post_entry(request, idempotency_key=key).entry.id
            balances = sum(book.balance(f"u{i}").balance for i in range(ACCOUNTS))
        counts, ids, seqs = _stored(engine)
        assert len(posted) == CLIENTS * 60
        assert set(counts.values()) == {1}, [k for k, c in counts.items() if c > 1]
        assert ids == posted
        assert seqs == list(range(1, len(seqs) + 1))
        assert balances == ACCOUNTS + CLIENTS * 60
        report = verify(engine)
        assert report.ok, report.problems
    finally:
        admin.dispose()
        engine.dispose()


def test_a_lone_caller_does_not_wait_for_company(
    pg_url: str, launches: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries posted one after another fly without the gathering pause, which is only for
    concurrent callers (it would add a millisecond to each lone write)."""
    pauses: list[float] = []
    monkeypatch.setattr("ledger.flights.time.sleep", pauses.append)
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        _funded(book)
        launches.clear()
        for n in range(5):
            book.post_entry(
                NewEntry("t", (Posting("world", "u1", "USD", 1),)), idempotency_key=f"{n}"
            )
        assert launches["alone"] == 5
        assert pauses == []
    engine.dispose()
