"""Hostile input never fails anyone else's write.

Two depths. Validation refuses NUL characters, lone surrogates, ids of the wrong shape and
instants outside the calendar in UTC before the writer sees them. And should such a value
reach the writer anyway (``Ledger.submit`` takes commands as they are), the writer isolates
the command the database refuses, commits the rest of its batch, and reports that one as an
:class:`InvalidRequest`, never as :class:`Unavailable`, with no driver text in its detail.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from ledger import (
    HoldAction,
    InvalidAccount,
    InvalidEntry,
    InvalidId,
    InvalidRequest,
    InvalidText,
    InvalidTime,
    Ledger,
    LedgerError,
    NewEntry,
    Posted,
    Posting,
    Unavailable,
    Unstorable,
)
from ledger.commands import Command, PostEntry, ResolveHold
from ledger.store.engine import make_engine
from ledger.verify import verify
from tests.integration.ledgerkit import journal_size, open_accounts

pytestmark = pytest.mark.integration

YEAR_10000_UTC = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))
DRIVER_WORDS = ("psycopg", "sqlite", "NUL (0x00)", "codec", "Error(")


def transfer(amount: int = 1, **changes: object) -> NewEntry:
    return NewEntry("transfer", (Posting("w", "a", "USD", amount),), **changes)  # type: ignore[arg-type]


def hostile_commands(tag: str) -> list[Command]:
    """Commands with values no validation let through: straight to the writer."""
    return [
        PostEntry(transfer(), "svc", f"{tag}-key\x00"),
        PostEntry(transfer(), "svc\x00", f"{tag}-p"),
        PostEntry(transfer(), "svc", f"{tag}-\ud800"),
        PostEntry(transfer(metadata={"note": "\ud800"}), "svc", f"{tag}-m"),
        PostEntry(transfer(pending=True, expires_at=YEAR_10000_UTC), "svc", f"{tag}-t"),
        ResolveHold("\x00", HoldAction.VOID),
        ResolveHold("\ud800", HoldAction.POST),
    ]


def assert_clean(outcome: object) -> None:
    assert not isinstance(outcome, Unavailable), outcome
    if isinstance(outcome, LedgerError):
        assert isinstance(outcome, InvalidRequest) or outcome.code == "not-found", outcome
        assert not any(word in outcome.detail for word in DRIVER_WORDS), outcome.detail


@pytest.mark.parametrize("group_commit", [True, False], ids=["group-commit", "direct"])
def test_a_refused_value_leaves_the_rest_of_its_batch_committed(
    db_url: str, group_commit: bool
) -> None:
    engine = make_engine(db_url)
    with Ledger(engine, group_commit=group_commit) as book:
        open_accounts(book, "a", world="w")
        valid = [PostEntry(transfer(i + 1), "svc", f"ok-{i}") for i in range(6)]
        mixed: list[Command] = []
        for i, command in enumerate(hostile_commands("x")):
            mixed.extend([valid[i % len(valid)], command] if i < len(valid) else [command])
        outcomes = book.submit(mixed)
        for command, outcome in zip(mixed, outcomes, strict=True):
            if command in valid:
                assert isinstance(outcome, Posted) and not outcome.replayed, outcome
            assert_clean(outcome)
        if engine.dialect.name == "postgresql":  # PostgreSQL refuses every one of them
            refused = [o for c, o in zip(mixed, outcomes, strict=True) if c not in valid]
            assert all(isinstance(o, (Unstorable, LedgerError)) for o in refused)
            assert sum(isinstance(o, Posted) for o in outcomes) == len(valid)
        assert book.balance("a").balance == sum(range(1, 7)) + sum(
            1
            for c, o in zip(mixed, outcomes, strict=True)
            if c not in valid and isinstance(o, Posted)
        )
    report = verify(engine)
    engine.dispose()
    assert report.ok, report.problems


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            lambda b: b.post_entry(transfer(metadata={"n": "\x00"}), idempotency_key="k"),
            InvalidText,
        ),
        (
            lambda b: b.post_entry(transfer(metadata={"\ud800": 1}), idempotency_key="k"),
            InvalidText,
        ),
        (
            lambda b: b.post_entry(transfer(identity={"e": "\x00"}), idempotency_key="k"),
            InvalidText,
        ),
        (lambda b: b.post_entry(transfer(), idempotency_key="k\x00"), InvalidEntry),
        (lambda b: b.post_entry(transfer(), principal="p\x00", idempotency_key="k"), InvalidText),
        (
            lambda b: b.post_entry(transfer(pending=True, expires_at=YEAR_10000_UTC)),
            InvalidTime,
        ),
        (lambda b: b.post_entry(transfer(effective_at=YEAR_10000_UTC)), InvalidTime),
        (
            lambda b: b.post_entry(NewEntry("transfer", (Posting("w\x00", "a", "USD", 1),))),
            InvalidAccount,
        ),
        (lambda b: b.resolve_hold("\x00", HoldAction.VOID), InvalidId),
        (lambda b: b.resolve_hold("\ud800", HoldAction.POST), InvalidId),
        (lambda b: b.resolve_hold("x" * 65, HoldAction.POST), InvalidId),
        (lambda b: b.reverse("\x00", idempotency_key="k"), InvalidId),
        (lambda b: b.reverse("e1", idempotency_key="k", metadata={"r": "\x00"}), InvalidText),
    ],
)
def test_validation_refuses_hostile_values_before_the_writer(
    book: Ledger, engine: Engine, call: Callable[[Ledger], object], error: type[Exception]
) -> None:
    open_accounts(book, "a", world="w")
    before = journal_size(engine)
    with pytest.raises(error) as raised:
        call(book)
    assert isinstance(raised.value, InvalidRequest)
    assert journal_size(engine) == before
    assert book.post_entry(transfer(), idempotency_key="k").entry.seq == before[0] + 1


def test_hostile_clients_do_not_disturb_valid_writers(pg_url: str) -> None:
    """Six threads post valid entries through the group-commit writer while a seventh sends
    hostile values both through validation and straight to the writer, without pause."""
    engine = make_engine(pg_url)
    writers, per_writer = 6, 60
    failures: list[object] = []
    hostile_outcomes: list[object] = []
    stop = threading.Event()
    with Ledger(engine) as book:
        open_accounts(book, *(f"u{i}" for i in range(writers)), world="w")

        def valid(index: int) -> None:
            for n in range(per_writer):
                request = NewEntry("transfer", (Posting("w", f"u{index}", "USD", 1),))
                try:
                    book.post_entry(request, principal="svc", idempotency_key=f"v{index}-{n}")
                except Exception as error:
                    failures.append(error)

        def hostile() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                hostile_outcomes.extend(book.submit(hostile_commands(f"h{n}")))
                for attempt in (
                    lambda: book.resolve_hold("\x00", HoldAction.VOID),
                    lambda: book.post_entry(transfer(metadata={"x": "\ud800"})),
                ):
                    try:
                        attempt()
                    except InvalidRequest as error:
                        hostile_outcomes.append(error)

        threads = [threading.Thread(target=valid, args=(i,)) for i in range(writers)]
        spoiler = threading.Thread(target=hostile)
        spoiler.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        spoiler.join()
        balances = [book.balance(f"u{i}").balance for i in range(writers)]
    report = verify(engine)
    engine.dispose()
    assert failures == []
    assert balances == [per_writer] * writers
    assert hostile_outcomes
    for outcome in hostile_outcomes:
        assert_clean(outcome)
        assert not isinstance(outcome, Posted)
    assert report.ok, report.problems


def test_an_unreachable_database_is_unavailable_without_driver_text() -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing_here")
    with Ledger(engine, group_commit=False) as book, pytest.raises(Unavailable) as raised:
        book.post_entry(transfer(), idempotency_key="k")
    engine.dispose()
    assert not any(word in raised.value.detail for word in (*DRIVER_WORDS, "127.0.0.1", "5432"))


def test_a_valid_instant_near_the_end_of_the_calendar_round_trips(book: Ledger) -> None:
    open_accounts(book, "a", world="w")
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    hold = book.post_entry(transfer(pending=True, expires_at=last), idempotency_key="h")
    assert book.get_entry(hold.entry.id).expires_at == last
    assert verify(book.engine).ok
