"""The ledger's contract, run against SQLite and PostgreSQL alike (``db_url`` is both)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ledger import (
    Account,
    AccountExists,
    AssetMismatch,
    EntryType,
    HoldNotPending,
    HoldStatus,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAccount,
    InvalidAmount,
    InvalidEntry,
    InvalidRequest,
    Ledger,
    LedgerError,
    Limit,
    LimitExceeded,
    NewEntry,
    NotFound,
    NotReversible,
    Posting,
    UnknownAccount,
    UnknownAsset,
)
from ledger.model import METADATA_MAX_BYTES
from ledger.verify import verify
from tests.integration.ledgerkit import journal_size, move, open_accounts

pytestmark = pytest.mark.integration


def test_transfer_moves_value_and_keeps_history(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "alice", "bob", world="world:card")
    move(book, "world:card", "alice", 10_000)
    move(book, "alice", "bob", 2_500)
    assert book.balance("alice").balance == 7_500
    assert book.balance("bob").balance == 2_500
    assert book.balance("world:card").balance == -10_000
    lines = book.history("alice")
    assert [(line.amount, line.balance_after) for line in lines] == [
        (-2_500, 7_500),
        (10_000, 10_000),
    ]
    assert book.balance_at("alice", seq=lines[-1].seq) == 10_000
    assert verify(engine).ok


def test_seq_is_gapless_and_hashes_chain(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "a", world="w")
    posted = [move(book, "w", "a", i + 1).entry for i in range(5)]
    assert [e.seq for e in posted] == [1, 2, 3, 4, 5]
    prev = bytes(32)
    for e in posted:
        assert e.hash == e.chained_hash(prev)
        prev = e.hash
    assert book.get_entry(posted[2].id) == posted[2]


def test_multi_posting_entry_is_atomic(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "buyer", "instructor", "platform", world="w")
    move(book, "w", "buyer", 1_000)
    split = NewEntry(
        "course.sale",
        (
            Posting("buyer", "instructor", "USD", 700),
            Posting("buyer", "platform", "USD", 301),  # 1,001 in all: one cent short
        ),
    )
    before = journal_size(engine)
    with pytest.raises(InsufficientFunds):
        book.post_entry(split)
    assert journal_size(engine) == before
    assert book.balance("instructor").balance == 0
    ok = NewEntry(split.kind, (split.postings[0], Posting("buyer", "platform", "USD", 300)))
    book.post_entry(ok)
    assert (book.balance("buyer").balance, book.balance("platform").balance) == (0, 300)


def test_no_overdraft(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "a", "b", world="w")
    move(book, "w", "a", 100)
    before = journal_size(engine)
    with pytest.raises(InsufficientFunds) as caught:
        move(book, "a", "b", 101)
    assert caught.value.code == "insufficient-funds"
    assert caught.value.account_id == "a"
    assert journal_size(engine) == before
    move(book, "a", "b", 100)
    assert book.balance("a").available == 0


def test_idempotency_replays_and_conflicts(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "a", world="w")
    first = move(book, "w", "a", 100, key="order-1")
    again = move(book, "w", "a", 100, key="order-1")
    assert again.replayed and again.entry == first.entry
    with pytest.raises(IdempotencyConflict):
        move(book, "w", "a", 101, key="order-1")
    assert book.balance("a").balance == 100
    # Keys are per principal.
    other = book.post_entry(
        NewEntry("transfer", (Posting("w", "a", "USD", 100),)),
        principal="svc-2",
        idempotency_key="order-1",
    )
    assert not other.replayed


def test_refused_request_does_not_consume_its_key(book: Ledger) -> None:
    open_accounts(book, "a", "b", world="w")
    with pytest.raises(InsufficientFunds):
        move(book, "a", "b", 50, key="k")
    move(book, "w", "a", 50)
    assert not move(book, "a", "b", 50, key="k").replayed


def test_batch_gives_one_outcome_per_entry(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "a", "b", world="w")

    def transfer(n: int) -> NewEntry:
        return NewEntry("transfer", (Posting("w", "a", "USD", n),))

    outcomes = book.post_entries(
        [
            (transfer(1), "k1"),
            (NewEntry("transfer", (Posting("a", "b", "USD", 10**6),)), "k2"),
            (transfer(2), "k1"),  # same key, different request, same batch
            (transfer(1), "k1"),  # same key, same request: a replay of the first
            (NewEntry("Bad Kind", (Posting("w", "a", "USD", 1),)), "k3"),
        ]
    )
    assert [type(o).__name__ for o in outcomes] == [
        "Posted",
        "InsufficientFunds",
        "IdempotencyConflict",
        "Posted",
        "InvalidEntry",
    ]
    assert outcomes[3].replayed  # type: ignore[union-attr]
    assert book.balance("a").balance == 1
    assert verify(engine).ok


def test_hold_lifecycle(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "a", "b", world="w")
    move(book, "w", "a", 1_000)
    hold = move(book, "a", "b", 600, pending=True).entry
    assert hold.type is EntryType.PENDING
    bal = book.balance("a")
    assert (bal.balance, bal.pending_out, bal.available) == (1_000, 600, 400)
    assert book.balance("b").pending_in == 600
    with pytest.raises(InsufficientFunds):
        move(book, "a", "b", 401)
    state = book.resolve_hold(hold.id, "post")
    assert state.status is HoldStatus.POSTED
    assert book.resolve_hold(hold.id, "post") == state  # a repeat answers the current state
    with pytest.raises(HoldNotPending):
        book.resolve_hold(hold.id, "void")
    assert (book.balance("a").balance, book.balance("a").pending_out) == (400, 0)
    assert (book.balance("b").balance, book.balance("b").pending_in) == (600, 0)
    assert verify(engine).ok


def test_void_releases_and_cannot_post_after(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "a", "b", world="w")
    move(book, "w", "a", 100)
    hold = move(book, "a", "b", 100, pending=True).entry
    assert book.resolve_hold(hold.id, "void").status is HoldStatus.VOIDED
    assert book.resolve_hold(hold.id, "void").status is HoldStatus.VOIDED
    with pytest.raises(HoldNotPending):
        book.resolve_hold(hold.id, "post")
    assert book.balance("a").available == 100
    with pytest.raises(NotFound):
        book.resolve_hold("no-such-hold", "post")


def test_holds_expire_at_their_deadline(engine: Engine) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    with Ledger(engine, clock=lambda: now[0]) as book:
        open_accounts(book, "a", "b", world="w")
        move(book, "w", "a", 100)
        deadline = now[0] + timedelta(minutes=5)
        soon = move(book, "a", "b", 60, pending=True, expires_at=deadline).entry
        later = move(
            book, "a", "b", 40, pending=True, expires_at=deadline + timedelta(hours=1)
        ).entry
        assert book.expire_due_holds() == 0
        now[0] = deadline
        assert book.expire_due_holds() == 1
        assert book.hold_state(soon.id).status is HoldStatus.EXPIRED
        assert book.hold_state(later.id).status is HoldStatus.PENDING
        assert book.balance("a").available == 60
        now[0] = deadline + timedelta(hours=2)
        with pytest.raises(HoldNotPending, match="expired"):
            book.resolve_hold(later.id, "post")  # past its deadline: it expires instead
        assert book.hold_state(later.id).status is HoldStatus.EXPIRED
        assert book.balance("a").available == 100
        assert book.expire_due_holds() == 0
    assert verify(engine).ok


def test_reversal_references_the_original_once(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "a", "b", world="w")
    move(book, "w", "a", 100)
    sale = move(book, "a", "b", 70).entry
    fix = book.reverse(sale.id, idempotency_key="fix-1", metadata={"reason": "refund"})
    assert fix.entry.reverses_id == sale.id
    assert fix.entry.kind == "transfer.reversal"
    assert book.reverse(sale.id, idempotency_key="fix-1", metadata={"reason": "refund"}).replayed
    with pytest.raises(NotReversible):
        book.reverse(sale.id, idempotency_key="fix-2")
    assert book.balance("a").balance == 100
    hold = move(book, "a", "b", 10, pending=True).entry
    with pytest.raises(NotReversible):
        book.reverse(hold.id)
    book.resolve_hold(hold.id, "post")
    book.reverse(hold.id)
    assert book.balance("b").balance == 0
    with pytest.raises(NotFound):
        book.reverse("missing")
    assert verify(engine).ok


def test_reversal_cannot_overdraw(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "a", "b", "c", world="w")
    move(book, "w", "a", 100)
    sale = move(book, "a", "b", 100).entry
    move(book, "b", "c", 100)
    before = journal_size(engine)
    with pytest.raises(InsufficientFunds):
        book.reverse(sale.id)
    assert journal_size(engine) == before


def test_accounts(book: Ledger) -> None:
    created, new = book.create_account(Account("user:42:azr", "AZR", metadata={"tier": "pro"}))
    assert new and created.created_at is not None
    again, new = book.create_account(Account("user:42:azr", "AZR", metadata={"tier": "pro"}))
    assert not new and again.id == "user:42:azr"
    with pytest.raises(AccountExists):
        book.create_account(Account("user:42:azr", "USD"))
    for bad in ("", "User", "-x", "a b", "a" * 129, "a/b", "é"):
        with pytest.raises(InvalidAccount):
            book.create_account(Account(bad, "USD"))
    with pytest.raises(UnknownAsset):
        book.create_account(Account("x", "EUR"))
    with pytest.raises(NotFound):
        book.balance("nobody")


def _bad_requests() -> list[tuple[NewEntry, type[LedgerError]]]:
    p = Posting("a", "b", "USD", 1)
    far = datetime(2100, 1, 1, tzinfo=UTC)
    return [
        (NewEntry("transfer", ()), InvalidEntry),
        (NewEntry("transfer", (Posting("a", "a", "USD", 1),)), InvalidEntry),
        (NewEntry("transfer", (Posting("a", "b", "USD", 0),)), InvalidAmount),
        (NewEntry("transfer", (Posting("a", "b", "USD", -5),)), InvalidAmount),
        (NewEntry("transfer", (Posting("a", "b", "USD", 2**255),)), InvalidAmount),
        (NewEntry("transfer", (Posting("a", "b", "USD", 1.5),)), InvalidAmount),  # type: ignore[arg-type]
        (NewEntry("transfer", (Posting("a", "b", "EUR", 1),)), UnknownAsset),
        (NewEntry("transfer", (Posting("a", "nobody", "USD", 1),)), UnknownAccount),
        (NewEntry("transfer", (Posting("a", "z", "USD", 1),)), AssetMismatch),
        (NewEntry("transfer", (Posting("a", "b", "AZR", 1),)), AssetMismatch),
        (NewEntry("Transfer", (p,)), InvalidEntry),
        (NewEntry("x" * 65, (p,)), InvalidEntry),
        (NewEntry("transfer", (p,), metadata={"blob": "x" * METADATA_MAX_BYTES}), InvalidEntry),
        (NewEntry("transfer", (p,), metadata={"rate": 0.1}), InvalidEntry),
        (NewEntry("transfer", (p,), expires_at=far), InvalidEntry),
        (
            NewEntry("transfer", (p,), pending=True, expires_at=datetime(2000, 1, 1, tzinfo=UTC)),
            InvalidEntry,
        ),
        (NewEntry("transfer", (p,) * 101), InvalidEntry),
    ]


@pytest.mark.parametrize("index", range(len(_bad_requests())))
def test_bad_input_is_a_typed_error_with_nothing_written(
    book: Ledger, engine: Engine, index: int
) -> None:
    open_accounts(book, "a", "b", world="w")
    book.create_account(Account("z", "AZR"))
    move(book, "w", "a", 100)
    request, error = _bad_requests()[index]
    before = journal_size(engine)
    with pytest.raises(error):
        book.post_entry(request, idempotency_key="bad-1")
    assert journal_size(engine) == before
    assert book.balance("a").balance == 100
    assert verify(engine).ok


def test_bad_idempotency_key(book: Ledger) -> None:
    open_accounts(book, "a", world="w")
    for key in ("", "has space", "x" * 129):
        with pytest.raises(InvalidEntry):
            move(book, "w", "a", 1, key=key)


def test_balance_as_of_time_uses_effective_at(book: Ledger) -> None:
    open_accounts(book, "a", world="w")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for day in range(3):
        move(book, "w", "a", 10 ** (day + 1), effective_at=t0 + timedelta(days=day))
    assert book.balance_at("a", at=t0 - timedelta(seconds=1)) == 0
    assert book.balance_at("a", at=t0) == 10
    assert book.balance_at("a", at=t0 + timedelta(days=1)) == 110
    assert book.balance_at("a", at=t0 + timedelta(days=30)) == 1110


def test_history_pages_with_a_cursor(book: Ledger) -> None:
    open_accounts(book, "a", world="w")
    for i in range(7):
        move(book, "w", "a", i + 1)
    seen: list[int] = []
    cursor = None
    while True:
        page = book.history("a", before_seq=cursor, limit=3)
        if not page:
            break
        seen.extend(line.seq for line in page)
        cursor = page[-1].seq
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    with pytest.raises(ValueError):
        book.history("a", limit=501)


def test_azr_amounts_beyond_64_bits_are_exact(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "user:1:azr", asset="AZR", world="platform:azr:pool")
    big = 123_456_789 * 10**18 + 1  # far past 2**63
    move(book, "platform:azr:pool", "user:1:azr", big, asset="AZR")
    move(book, "platform:azr:pool", "user:1:azr", 1, asset="AZR")
    assert book.balance("user:1:azr").balance == big + 1
    assert book.history("user:1:azr")[0].balance_after == big + 1
    assert verify(engine).ok


def test_limits_cap_what_a_window_can_move(book: Ledger, engine: Engine) -> None:
    open_accounts(book, "user:1:azr", asset="AZR", world="pool")
    day = datetime(2026, 3, 1, tzinfo=UTC)
    cap = Limit("user:1:azr", "reward.earned", day, day + timedelta(days=1), 50)

    def earn(amount: int, at: datetime, key: str) -> None:
        book.post_entry(
            NewEntry(
                "reward.earned",
                (Posting("pool", "user:1:azr", "AZR", amount),),
                effective_at=at,
                limits=(
                    replace(
                        cap, since=at.replace(hour=0), until=at.replace(hour=0) + timedelta(days=1)
                    ),
                ),
            ),
            idempotency_key=key,
        )

    for i in range(10):
        earn(5, day + timedelta(hours=i), f"e{i}")
    before = journal_size(engine)
    with pytest.raises(LimitExceeded) as caught:
        earn(5, day + timedelta(hours=11), "e10")
    assert caught.value.code == "limit-exceeded"
    assert journal_size(engine) == before
    earn(5, day + timedelta(days=1), "next-day")  # a new window
    # Limits are policy, not request: a replay of an earlier key still answers.
    earn(5, day, "e0")
    # Within one batch, later entries see the earlier ones.
    batch = book.post_entries(
        [
            (
                NewEntry(
                    "reward.earned",
                    (Posting("pool", "user:1:azr", "AZR", 30),),
                    effective_at=day + timedelta(days=2),
                    limits=(
                        replace(cap, since=day + timedelta(days=2), until=day + timedelta(days=3)),
                    ),
                ),
                f"b{i}",
            )
            for i in range(3)
        ]
    )
    assert [type(o).__name__ for o in batch] == ["Posted", "LimitExceeded", "LimitExceeded"]
    assert book.balance("user:1:azr").balance == 50 + 5 + 30


def test_bad_limits_are_refused(book: Ledger) -> None:
    open_accounts(book, "a", world="w")
    t = datetime(2026, 1, 1, tzinfo=UTC)
    for bad in (
        Limit("a", "transfer", t, t, 5),
        Limit("a", "transfer", t, t + timedelta(days=1), -1),
        Limit("A!", "transfer", t, t + timedelta(days=1), 5),
    ):
        with pytest.raises(InvalidRequest):
            book.post_entry(NewEntry("transfer", (Posting("w", "a", "USD", 1),), limits=(bad,)))
