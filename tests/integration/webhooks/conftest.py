"""Webhooks over real databases, a settable clock and real local receivers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from ledger import Account, Ledger, NewEntry, Posting
from monetization.webhooks import StaticResolver, Webhooks, WebhooksConfig, build_webhooks
from tests.integration.billing.conftest import Clock
from tests.integration.webhooks.receiver import Receiver

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
LAX = WebhooksConfig(strict=False, retry_base_s=10, retry_max_s=600, timeout_s=5, lease_s=60)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def book(engine: Engine, clock: Clock) -> Iterator[Ledger]:
    with Ledger(engine, clock=clock) as ledger:
        ledger.create_account(Account("world:card", "USD", allow_negative=True))
        for user in ("alice", "bob"):
            ledger.create_account(Account(f"user:{user}:usd", "USD"))
        yield ledger


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


SEALING_KEYS = ("webhook-sealing-test-key-" + "z" * 20,)


def sealing_keys() -> list[str]:
    return list(SEALING_KEYS)


def make_webhooks(
    engine: Engine,
    book: Ledger,
    clock: Clock,
    config: WebhooksConfig = LAX,
    resolver: StaticResolver | None = None,
    secrets: Callable[[], Sequence[str]] = sealing_keys,
    **kw: object,
) -> Webhooks:
    resolver = resolver or StaticResolver({"localhost": ["127.0.0.1"]})
    return build_webhooks(
        engine,
        book,
        config,
        clock,
        secrets=secrets,
        resolver=resolver,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def webhooks(engine: Engine, book: Ledger, clock: Clock) -> Iterator[Webhooks]:
    made = make_webhooks(engine, book, clock)
    yield made
    made.close()


def post(book: Ledger, kind: str, cents: int, n: int = 1, user: str = "alice") -> list[int]:
    """Post ``n`` entries of ``kind``; their seqs."""
    seqs = []
    for _ in range(n):
        request = NewEntry(kind, (Posting("world:card", f"user:{user}:usd", "USD", cents),))
        seqs.append(book.post_entry(request, principal="test", idempotency_key=None).entry.seq)
    return seqs
