"""Workers in several processes (and threads) deliver each event once, in order, never two
at once to one endpoint (real PostgreSQL, a real receiver)."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from datetime import UTC, datetime

from ledger import Account, Ledger, NewEntry, Posting
from ledger.store.engine import make_engine
from monetization.webhooks import StaticResolver, WebhooksConfig, build_webhooks
from tests.integration.webhooks.conftest import sealing_keys
from tests.integration.webhooks.receiver import Receiver

CONFIG = WebhooksConfig(strict=False, retry_base_s=0.05, retry_max_s=0.2, timeout_s=5, lease_s=15)
ENDPOINTS = 4
EVENTS = 40


def utcnow() -> datetime:
    return datetime.now(UTC)


def deliver_until(url: str, stop_at: float) -> int:
    """A worker process: delivery rounds until ``stop_at`` (monotonic is per process: wall)."""
    engine = make_engine(url)
    with Ledger(engine, group_commit=False) as book:
        webhooks = build_webhooks(
            engine,
            book,
            CONFIG,
            utcnow,
            secrets=sealing_keys,
            resolver=StaticResolver({"localhost": ["127.0.0.1"]}),
        )
        delivered = 0
        while time.time() < stop_at:
            report = webhooks.deliver(max_endpoints=1)
            delivered += report.delivered
            if report.endpoints == 0:
                time.sleep(0.01)
        webhooks.close()
    engine.dispose()
    return delivered


def test_processes_never_send_twice_at_once_and_keep_seq_order(pg_url: str) -> None:
    receiver = Receiver()
    receiver.delay_s = 0.005  # long enough for an overlap to show, were there one
    # one endpoint fails now and then: retries interleave with the other workers
    receiver.answer = lambda path, n: 500 if path == "/hook0" and n % 7 == 0 else 200
    engine = make_engine(pg_url)
    try:
        with Ledger(engine, group_commit=False) as book:
            book.create_account(Account("world:card", "USD", allow_negative=True))
            book.create_account(Account("user:a:usd", "USD"))
            webhooks = build_webhooks(engine, book, CONFIG, utcnow, secrets=sealing_keys)
            for n in range(ENDPOINTS):
                webhooks.endpoints.create("key:a", receiver.url(f"/hook{n}"))
            stop_at = time.time() + 15
            context = multiprocessing.get_context("spawn")
            with context.Pool(3) as pool:
                running = [pool.apply_async(deliver_until, (pg_url, stop_at)) for _ in range(3)]
                seqs = []
                for _ in range(EVENTS):  # posted while the workers run
                    posting = Posting("world:card", "user:a:usd", "USD", 1)
                    seqs.append(book.post_entry(NewEntry("transfer", (posting,))).entry.seq)
                delivered = sum(r.get(timeout=60) for r in running)
        assert receiver.overlaps == 0
        assert delivered == ENDPOINTS * EVENTS
        for n in range(ENDPOINTS):
            got = [json.loads(r.body)["seq"] for r in receiver.at(f"/hook{n}")]
            assert got == sorted(got), f"/hook{n}: out of order"  # retries repeat in place
            assert list(dict.fromkeys(got)) == seqs, f"/hook{n}"
            if n:  # always acknowledged: each event exactly once
                assert got == seqs
    finally:
        receiver.close()
        engine.dispose()


def test_threads_with_their_own_engines_share_the_work(pg_url: str) -> None:
    receiver = Receiver()
    engine = make_engine(pg_url)
    try:
        with Ledger(engine, group_commit=False) as book:
            book.create_account(Account("world:card", "USD", allow_negative=True))
            book.create_account(Account("user:a:usd", "USD"))
            webhooks = build_webhooks(engine, book, CONFIG, utcnow, secrets=sealing_keys)
            for n in range(ENDPOINTS):
                webhooks.endpoints.create("key:a", receiver.url(f"/t{n}"))
            posting = Posting("world:card", "user:a:usd", "USD", 1)
            seqs = [book.post_entry(NewEntry("transfer", (posting,))).entry.seq for _ in range(20)]
            counts: list[int] = []
            stop_at = time.time() + 6
            workers = [
                threading.Thread(target=lambda: counts.append(deliver_until(pg_url, stop_at)))
                for _ in range(4)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        assert sum(counts) == ENDPOINTS * 20 and receiver.overlaps == 0
        for n in range(ENDPOINTS):
            assert [json.loads(r.body)["seq"] for r in receiver.at(f"/t{n}")] == seqs
    finally:
        receiver.close()
        engine.dispose()
