"""One idempotency mechanism: key + fingerprint, where a domain names what defines its command.

A domain command stamps ``effective_at`` when it runs, so two copies of one command differ
there; with ``identity`` they are one command (the second replays the first), and the same
key with another identity is a conflict. Without ``identity`` the whole request is the
fingerprint, as for HTTP callers (DESIGN §5). Run on SQLite and PostgreSQL, from threads.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ledger import IdempotencyConflict, Ledger, LedgerError, NewEntry, Posted, Posting
from tests.integration.ledgerkit import journal_size, open_accounts

pytestmark = pytest.mark.integration


def earning(user: str, offset_ms: int, *, identity: dict[str, str] | None) -> NewEntry:
    return NewEntry(
        "reward.earned",
        (Posting("pool", user, "USD", 5),),
        metadata={"user_id": user, "received_at_ms": offset_ms},
        effective_at=datetime(2026, 5, 1, tzinfo=UTC) + timedelta(milliseconds=offset_ms),
        identity=identity,
    )


def test_concurrent_copies_of_one_command_are_one_entry(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "alice", "bob", world="pool")
    copies = 12
    results: list[Posted | LedgerError] = []
    lock = threading.Lock()
    barrier = threading.Barrier(copies)

    def send(n: int) -> None:
        request = earning("alice", n, identity={"event": "lesson-1", "user": "alice"})
        barrier.wait()
        try:
            outcome: Posted | LedgerError = book.post_entry(
                request, principal="rewards", idempotency_key="reward:lesson-1"
            )
        except LedgerError as error:
            outcome = error
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, Posted) for r in results), results
    posted = [r for r in results if isinstance(r, Posted)]
    assert len({r.entry.id for r in posted}) == 1
    assert sum(not r.replayed for r in posted) == 1
    assert book.balance("alice").balance == 5
    assert journal_size(engine)[0] == 1
    original = book.entry_by_key("rewards", "reward:lesson-1")
    assert original is not None and original == posted[0].entry


def test_the_same_key_with_another_identity_conflicts(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "alice", "bob", world="pool")
    first = book.post_entry(
        earning("alice", 0, identity={"event": "e1", "user": "alice"}),
        principal="rewards",
        idempotency_key="reward:e1",
    )
    with pytest.raises(IdempotencyConflict):
        book.post_entry(
            earning("bob", 1, identity={"event": "e1", "user": "bob"}),
            principal="rewards",
            idempotency_key="reward:e1",
        )
    # Another principal's key space is its own.
    other = book.post_entry(
        earning("bob", 1, identity={"event": "e1", "user": "bob"}),
        principal="rewards-2",
        idempotency_key="reward:e1",
    )
    assert other.entry.id != first.entry.id
    assert journal_size(engine)[0] == 2


def test_without_identity_the_whole_request_is_the_fingerprint(book: Ledger) -> None:
    open_accounts(book, "alice", world="pool")
    book.post_entry(earning("alice", 0, identity=None), idempotency_key="http-1")
    again = book.post_entry(earning("alice", 0, identity=None), idempotency_key="http-1")
    assert again.replayed
    with pytest.raises(IdempotencyConflict):  # only effective_at differs
        book.post_entry(earning("alice", 1, identity=None), idempotency_key="http-1")
    with pytest.raises(IdempotencyConflict):  # same fields, now with an identity
        book.post_entry(earning("alice", 0, identity={"e": "1"}), idempotency_key="http-1")


def test_a_refused_command_does_not_consume_its_key(book: Ledger) -> None:
    open_accounts(book, "alice", "bob", world="pool")
    short = NewEntry("transfer", (Posting("alice", "bob", "USD", 10),), identity={"t": "1"})
    with pytest.raises(LedgerError):
        book.post_entry(short, idempotency_key="gift-1")
    book.post_entry(NewEntry("transfer", (Posting("pool", "alice", "USD", 10),)))
    assert not book.post_entry(short, idempotency_key="gift-1").replayed
