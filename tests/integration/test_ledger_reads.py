"""The read API for projections and lookups, on SQLite and PostgreSQL (``db_url`` is both).

A projection built only from ``Ledger.events`` must equal one computed from the balances,
and the kind filters must agree with the pure :func:`ledger.checks.kind_matches`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ledger import (
    Account,
    Entry,
    EntryType,
    HoldAction,
    InvalidRequest,
    InvalidText,
    Ledger,
    NewEntry,
    Period,
    Posting,
)
from ledger.checks import kind_matches
from ledger.deciding import balance_deltas
from ledger.reads import ENTRIES_BY_IDS_MAX, EVENTS_MAX_LIMIT
from tests.integration.ledgerkit import move, open_accounts

pytestmark = pytest.mark.integration

KINDS = (
    "reward.earned.lesson",
    "reward.earned.quiz",
    "reward.earned_x",  # "_" is a LIKE wildcard: must not match "reward.earned.*"
    "reward.adjusted.earned",
    "reward.spent",
    "transfer",
    "a_b.c",
    "axb.c",
)


def _journal(book: Ledger) -> list[Entry]:
    """A small journal with every event type and every kind of KINDS; returns it in order."""
    open_accounts(book, "user:1:azr", "user:2:azr", "pool:x", asset="AZR", world="world:azr")
    book.create_account(Account("user:1:usd", "USD"))
    book.create_account(Account("world:usd", "USD", allow_negative=True))
    made = []
    for i, kind in enumerate(KINDS * 3):
        user = f"user:{i % 2 + 1}:azr"
        made.append(move(book, "world:azr", user, 10 + i, asset="AZR", kind=kind, key=f"k{i}"))
    made.append(move(book, "world:usd", "user:1:usd", 500, asset="USD"))
    hold = move(book, "user:1:azr", "pool:x", 5, asset="AZR", kind="reward.spent", pending=True)
    other = move(book, "user:2:azr", "pool:x", 7, asset="AZR", kind="reward.spent", pending=True)
    book.resolve_hold(hold.entry.id, HoldAction.POST)
    book.resolve_hold(other.entry.id, HoldAction.VOID)
    book.reverse(made[0].entry.id, idempotency_key="undo-0")
    return book.events(0, EVENTS_MAX_LIMIT)


def test_events_are_every_event_in_seq_order(book: Ledger) -> None:
    journal = _journal(book)
    assert [e.seq for e in journal] == list(range(1, book.head_seq() + 1))
    types = {e.type for e in journal}
    assert {EntryType.POSTED, EntryType.PENDING, EntryType.POST_PENDING} <= types
    assert EntryType.VOID_PENDING in types
    # Paging by after_seq gives the same sequence, page by page.
    paged: list[Entry] = []
    while page := book.events(paged[-1].seq if paged else 0, 7):
        assert len(page) <= 7
        paged.extend(page)
    assert paged == journal
    assert book.events(book.head_seq(), 10) == []


def test_a_projection_from_events_equals_the_balances(book: Ledger) -> None:
    journal = _journal(book)
    balance: dict[str, int] = defaultdict(int)
    pending_out: dict[str, int] = defaultdict(int)
    for e in journal:
        for account, (d_balance, d_out, _d_in) in balance_deltas(e).items():
            balance[account] += d_balance
            pending_out[account] += d_out
    for account, want in balance.items():
        stored = book.balance(account)
        assert (stored.balance, stored.pending_out) == (want, pending_out[account])


def test_up_to_seq_and_types_bound_a_page(book: Ledger) -> None:
    journal = _journal(book)
    head = book.head_seq()
    middle = head // 2
    assert book.events(0, EVENTS_MAX_LIMIT, up_to_seq=middle) == journal[:middle]
    holds = book.events(0, 100, types={EntryType.PENDING})
    assert holds == [e for e in journal if e.type is EntryType.PENDING]
    assert book.events(0, 100, types=set()) == []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the journal is only read
)
@given(
    patterns=st.lists(
        st.sampled_from(
            [*KINDS, "reward.*", "reward.earned.*", "a_b.*", "reward.adjusted.*", "nothing"]
        ),
        min_size=1,
        max_size=4,
    ),
    after=st.integers(0, 30),
    limit=st.integers(1, 40),
)
def test_kind_filters_match_the_reference(
    book: Ledger, patterns: list[str], after: int, limit: int
) -> None:
    if book.head_seq() == 0:
        _journal(book)
    everything = book.events(0, EVENTS_MAX_LIMIT)
    want = [e for e in everything if e.seq > after and kind_matches(e.kind, patterns)][:limit]
    assert book.events(after, limit, patterns) == want


def test_events_refuse_unbounded_or_malformed_reads(book: Ledger) -> None:
    for bad in (
        {"after_seq": -1, "limit": 10},
        {"after_seq": 0, "limit": 0},
        {"after_seq": 0, "limit": EVENTS_MAX_LIMIT + 1},
        {"after_seq": 0, "limit": 10, "kinds": []},
        {"after_seq": 0, "limit": 10, "kinds": "reward.*"},
        {"after_seq": 0, "limit": 10, "kinds": ["reward.%"]},
        {"after_seq": 0, "limit": 10, "kinds": ["reward\x00.*"]},
        {"after_seq": 0, "limit": 10, "kinds": [".*"]},
    ):
        with pytest.raises(InvalidRequest):
            book.events(**bad)


def test_entry_by_key_finds_what_a_principal_recorded(book: Ledger) -> None:
    open_accounts(book, "a", world="w")
    request = NewEntry("transfer", (Posting("w", "a", "USD", 5),))
    posted = book.post_entry(request, principal="svc-1", idempotency_key="order-1")
    assert book.entry_by_key("svc-1", "order-1") == posted.entry
    assert book.entry_by_key("svc-2", "order-1") is None
    assert book.entry_by_key("svc-1", "order-2") is None
    assert book.entry_by_key("svc-1", "order\x00-1") is None  # cannot exist: no query
    with pytest.raises(InvalidText):
        book.entry_by_key("svc\x00", "order-1")


def test_entries_by_ids_is_bounded_and_skips_what_cannot_exist(book: Ledger) -> None:
    journal = _journal(book)
    wanted = {journal[0].id, journal[3].id, "no-such-entry", "\x00", "\ud800"}
    found = book.entries_by_ids(wanted)
    assert found == {journal[0].id: journal[0], journal[3].id: journal[3]}
    assert book.entries_by_ids([]) == {}
    with pytest.raises(InvalidRequest):
        book.entries_by_ids([f"id-{i}" for i in range(ENTRIES_BY_IDS_MAX + 1)])


def test_lines_stream_the_reference_of_a_projection(book: Ledger, engine: Engine) -> None:
    journal = _journal(book)
    head = book.head_seq()
    kinds = ["reward.earned.*", "reward.adjusted.earned"]
    up_to = head - 3
    got: dict[tuple[str, int], int] = {}
    for line in book.lines(
        account_prefix="user:", account_suffix=":azr", kinds=kinds, up_to_seq=up_to
    ):
        got[(line.account_id, line.seq)] = line.amount
    want: dict[tuple[str, int], int] = {}
    for e in journal:
        if e.seq > up_to or not kind_matches(e.kind, kinds):
            continue
        if e.type not in (EntryType.POSTED, EntryType.POST_PENDING):
            continue
        for account, (d_balance, _o, _i) in balance_deltas(e).items():
            if account.startswith("user:") and account.endswith(":azr"):
                want[(account, e.seq)] = d_balance
    assert got == want
    assert got  # the journal has such lines


@pytest.mark.parametrize("per", list(Period))
def test_line_totals_sum_the_lines_per_utc_period(book: Ledger, per: Period) -> None:
    _journal(book)
    # Instants at the edges of UTC weeks and months, one given in another zone.
    minus_two = timezone(timedelta(hours=-2))
    for i, at in enumerate(
        (
            datetime(2029, 12, 30, 23, 59, 59, 999_999, tzinfo=UTC),  # a Sunday, December
            datetime(2029, 12, 31, tzinfo=UTC),  # Monday: another week, same month
            datetime(2030, 1, 1, tzinfo=UTC),  # the same week, another month
            datetime(2030, 3, 31, 23, 30, tzinfo=minus_two),  # 1 April 01:30 UTC
            datetime(2030, 4, 1, 1, 0, tzinfo=UTC),
        )
    ):
        move(
            book,
            "world:azr",
            "user:1:azr",
            100 + i,
            asset="AZR",
            kind="reward.earned.x",
            effective_at=at,
        )
    move(
        book,
        "user:1:azr",
        "world:azr",
        104,
        asset="AZR",
        kind="reward.adjusted.earned",
        effective_at=datetime(2030, 4, 1, 2, 0, tzinfo=UTC),
    )  # April: 103 + 104 - 104
    head = book.head_seq()
    kinds = ["reward.earned.*", "reward.adjusted.earned"]
    for up_to in (head, head - 4):
        want: dict[tuple[str, object], int] = defaultdict(int)
        for line in book.lines(
            account_prefix="user:", account_suffix=":azr", kinds=kinds, up_to_seq=up_to
        ):
            want[(line.account_id, per.start(line.effective_at))] += line.amount
        got = [
            (t.account_id, t.period_start, t.amount)
            for t in book.line_totals(
                account_prefix="user:",
                account_suffix=":azr",
                kinds=kinds,
                up_to_seq=up_to,
                per=per,
            )
        ]
        assert len(got) == len({(a, s) for a, s, _ in got})
        assert {(a, s): v for a, s, v in got} == {k: v for k, v in want.items() if v != 0}
    if per is Period.MONTH:
        april = {
            t.period_start: t.amount
            for t in book.line_totals(
                account_prefix="user:1:azr", kinds=kinds, up_to_seq=head, per=per
            )
        }
        assert april[date(2030, 4, 1)] == 103
    with pytest.raises(InvalidRequest):
        book.line_totals(account_prefix="user:%", kinds=kinds, up_to_seq=head, per=per)


def test_lines_refuse_what_is_not_part_of_an_account_id(book: Ledger) -> None:
    for prefix in ("User:", "user:%", "user\x00"):
        with pytest.raises(InvalidRequest):
            book.lines(account_prefix=prefix, kinds=["transfer"], up_to_seq=1)


def test_reads_with_malformed_ids_are_not_found_without_a_query(book: Ledger) -> None:
    from ledger import NotFound

    for bad in ("\x00", "\ud800", "x" * 200, ""):
        with pytest.raises(NotFound):
            book.get_entry(bad)
        with pytest.raises(NotFound):
            book.balance(bad)
        with pytest.raises(NotFound):
            book.get_account(bad)


def test_head_seq_follows_commits(book: Ledger) -> None:
    open_accounts(book, "a", world="w")
    assert book.head_seq() == 0
    move(book, "w", "a", 1)
    move(book, "w", "a", 2, effective_at=datetime.now(UTC) - timedelta(days=1))
    assert book.head_seq() == 2
