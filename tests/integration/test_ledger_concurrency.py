"""Many processes, one PostgreSQL ledger: no overdraft, nothing lost, one entry per key."""

from __future__ import annotations

import multiprocessing as mp
import random
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from ledger import Account, IdempotencyConflict, InsufficientFunds, Ledger, NewEntry, Posting
from ledger.store.engine import make_engine
from ledger.store.tables import entries

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROCESSES = 8
ACCOUNTS = [f"acct:{i:02d}" for i in range(20)]
FUNDING = 1_000
RUN_S = 4.0


def _worker(url: str, worker: int, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    rng = random.Random(worker)
    engine = make_engine(url, pool_size=2)
    stats = {"posted": 0, "refused": 0, "replayed": 0, "keys": set()}
    with Ledger(engine, group_commit=worker % 2 == 0) as book:
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            src, dst = rng.sample(ACCOUNTS, 2)
            key = f"w{worker}-{n}"
            request = NewEntry("test.transfer", (Posting(src, dst, "USD", rng.randint(1, 400)),))
            tries = 2 if rng.random() < 0.3 else 1  # some requests are retried with their key
            for _ in range(tries):
                try:
                    posted = book.post_entry(request, idempotency_key=key, principal="svc")
                except InsufficientFunds:
                    stats["refused"] += 1  # type: ignore[operator]
                    break
                if posted.replayed:
                    stats["replayed"] += 1  # type: ignore[operator]
                else:
                    stats["posted"] += 1  # type: ignore[operator]
                    stats["keys"].add(key)  # type: ignore[attr-defined]
            # A conflicting reuse of a key must always be refused.
            if n % 50 == 0 and key in stats["keys"]:  # type: ignore[operator]
                other = NewEntry("test.transfer", (Posting(dst, src, "USD", 1),))
                try:
                    book.post_entry(other, idempotency_key=key, principal="svc")
                    raise AssertionError("a conflicting key reuse was accepted")
                except IdempotencyConflict:
                    pass
            n += 1
    engine.dispose()
    out.put(stats)


def test_processes_posting_at_once_conserve_value(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        book.create_account(Account("world", "USD", allow_negative=True))
        for account in ACCOUNTS:
            book.create_account(Account(account, "USD"))
            book.post_entry(NewEntry("test.fund", (Posting("world", account, "USD", FUNDING),)))
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_worker, args=(pg_url, w, RUN_S, out)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    posted = sum(r["posted"] for r in results)
    keys = set().union(*(r["keys"] for r in results))
    assert posted == len(keys), "a key produced more than one entry"
    assert posted > 100, f"only {posted} transfers in {RUN_S}s: the test did not exercise much"
    assert sum(r["replayed"] for r in results) > 0
    assert sum(r["refused"] for r in results) > 0, "no overdraft was ever attempted"

    with Ledger(engine) as book:
        balances = [book.balance(a) for a in ACCOUNTS]
        assert all(b.available >= 0 for b in balances)
        assert sum(b.balance for b in balances) == FUNDING * len(ACCOUNTS)
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(entries).where(entries.c.kind == "test.transfer")
        ).scalar_one()
        max_seq = conn.execute(select(func.max(entries.c.seq))).scalar_one()
        total = conn.execute(select(func.count()).select_from(entries)).scalar_one()
    assert count == posted
    assert max_seq == total, "seq has a gap"
    engine.dispose()

    verified = subprocess.run(
        [sys.executable, "-m", "azora.cli", "ledger", "verify", "--quiet"],
        env={"AZORA_DATABASE_URL": pg_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK" in verified.stdout


def _earner(url: str, worker: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from datetime import UTC, datetime, timedelta

    from ledger import Limit, LimitExceeded

    day = datetime(2026, 5, 1, tzinfo=UTC)
    cap = Limit("user:1:azr", "reward.earned", day, day + timedelta(days=1), 50)
    engine = make_engine(url, pool_size=2)
    earned = 0
    with Ledger(engine, group_commit=worker % 2 == 0) as book:
        for n in range(10):
            request = NewEntry(
                "reward.earned",
                (Posting("pool", "user:1:azr", "AZR", 5),),
                effective_at=day + timedelta(minutes=n),
                limits=(cap,),
            )
            try:
                book.post_entry(request, idempotency_key=f"ev-{worker}-{n}")
                earned += 1
            except LimitExceeded:
                pass
    engine.dispose()
    out.put(earned)


def test_limits_hold_across_processes(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with Ledger(engine) as book:
        book.create_account(Account("pool", "AZR", allow_negative=True))
        book.create_account(Account("user:1:azr", "AZR"))
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_earner, args=(pg_url, w, out)) for w in range(6)]
    for p in procs:
        p.start()
    earned = sum(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert earned == 10, f"{earned} earn events passed a cap of 10"
    with Ledger(engine) as book:
        assert book.balance("user:1:azr").balance == 50
    engine.dispose()
