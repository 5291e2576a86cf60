"""``Ledger.list_accounts`` / ``list_entries``: against a naive filter of everything, on
both back ends, and (PostgreSQL) every filter answered through an index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, text

from ledger import (
    Account,
    Entry,
    EntryFilter,
    InvalidRequest,
    InvalidTime,
    Ledger,
    UnknownAsset,
)
from ledger.checks import kind_matches
from tests.integration.ledgerkit import move

pytestmark = pytest.mark.integration

KINDS = ("reward.earned.quiz", "reward.earned_x", "reward.spent", "transfer", "a_b.c")
BASE = datetime(2031, 3, 1, tzinfo=UTC)


def _journal(book: Ledger) -> list[Entry]:
    book.create_account(Account("world:usd", "USD", allow_negative=True))
    for account in ("user:a:usd", "user:a_b:usd", "user:ab:usd", "user:b:usd"):
        book.create_account(Account(account, "USD"))
    book.create_account(Account("user:a:azr", "AZR"))
    made = []
    for i in range(30):
        destination = ("user:a:usd", "user:a_b:usd", "user:ab:usd", "user:b:usd")[i % 4]
        when = BASE + timedelta(hours=i)
        kind = KINDS[i % len(KINDS)]
        made.append(
            move(book, "world:usd", destination, 100 + i, kind=kind, effective_at=when).entry
        )
    return made


def _naive(made: list[Entry], f: EntryFilter) -> list[int]:
    def keep(e: Entry) -> bool:
        accounts = {a for p in e.postings for a in (p.source, p.destination)}
        return (
            (f.account is None or f.account in accounts)
            and (f.kinds is None or kind_matches(e.kind, f.kinds))
            and (f.after_seq is None or e.seq > f.after_seq)
            and (f.before_seq is None or e.seq < f.before_seq)
            and (f.since is None or e.effective_at >= f.since)
            and (f.until is None or e.effective_at < f.until)
        )

    return sorted((e.seq for e in made if keep(e)), reverse=True)


@pytest.fixture
def journal(book: Ledger) -> list[Entry]:
    return _journal(book)


filters = st.builds(
    EntryFilter,
    account=st.sampled_from([None, "user:a:usd", "user:a_b:usd", "world:usd", "user:a:azr"]),
    kinds=st.one_of(
        st.none(),
        st.lists(st.sampled_from([*KINDS, "reward.*", "reward.earned.*", "a_b.*"]), min_size=1),
    ),
    after_seq=st.one_of(st.none(), st.integers(0, 35)),
    before_seq=st.one_of(st.none(), st.integers(0, 35)),
    since=st.one_of(st.none(), st.integers(-2, 32).map(lambda h: BASE + timedelta(hours=h))),
    until=st.one_of(st.none(), st.integers(-2, 32).map(lambda h: BASE + timedelta(hours=h))),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(selection=filters, limit=st.integers(1, 12))
def test_entry_pages_equal_the_naive_filter(
    book: Ledger, journal: list[Entry], selection: EntryFilter, limit: int
) -> None:
    want = _naive(journal, selection)
    got: list[int] = []
    before = selection.before_seq
    while True:
        page = book.list_entries(
            EntryFilter(
                selection.account,
                selection.kinds,
                selection.after_seq,
                before,
                selection.since,
                selection.until,
            ),
            limit=limit,
        )
        got.extend(e.seq for e in page)
        if len(page) < limit:
            break
        before = page[-1].seq
    assert got == want


def test_accounts_by_prefix_asset_and_cursor(book: Ledger, journal: list[Entry]) -> None:
    listed = [a.id for a, _b in book.list_accounts(prefix="user:a", limit=10)]
    assert listed == ["user:a:azr", "user:a:usd", "user:a_b:usd", "user:ab:usd"]
    literal = [a.id for a, _b in book.list_accounts(prefix="user:a_", limit=10)]
    assert literal == ["user:a_b:usd"]
    usd = book.list_accounts(prefix="user:", asset="USD", after_id="user:a_b:usd", limit=10)
    assert [a.id for a, _b in usd] == ["user:ab:usd", "user:b:usd"]
    balances = {a.id: b.balance for a, b in book.list_accounts(limit=10)}
    assert balances["user:a:usd"] == sum(e.postings[0].amount for e in journal[0::4])
    with pytest.raises(UnknownAsset):
        book.list_accounts(asset="EUR")
    for bad in ({"prefix": "A\x00"}, {"after_id": "-x"}, {"limit": 0}, {"limit": 1001}):
        with pytest.raises(InvalidRequest):
            book.list_accounts(**bad)


def test_hostile_entry_filters_are_refused(book: Ledger) -> None:
    for bad in (
        EntryFilter(account="User:1"),
        EntryFilter(kinds=["a\x00"]),
        EntryFilter(kinds="transfer"),
        EntryFilter(after_seq=-1),
        EntryFilter(before_seq=2**63),
        EntryFilter(since=datetime(2030, 1, 1)),
    ):
        with pytest.raises((InvalidRequest, InvalidTime)):
            book.list_entries(bad)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("call", "index"),
    [
        (lambda b: b.list_accounts(prefix="user:a", limit=5), "accounts_pkey"),
        (lambda b: b.list_accounts(asset="AZR", limit=5), "accounts_asset_id"),
        (lambda b: b.list_entries(EntryFilter(kinds=["transfer"]), limit=5), "entries_kind_seq"),
        # (a wide time range is best read newest first by seq, a narrow one by time)
        (
            lambda b: b.list_entries(EntryFilter(since=BASE, until=BASE + timedelta(hours=1))),
            "entries_effective_at|entries_pkey",
        ),
        (lambda b: b.list_entries(EntryFilter(before_seq=9), limit=5), "entries_pkey"),
        (lambda b: b.list_entries(EntryFilter(account="user:b:usd"), limit=5), "entry_lines_pkey"),
    ],
)
def test_each_listing_reads_through_an_index(
    book: Ledger, journal: list[Entry], call: Any, index: str
) -> None:
    with _statements(book.engine) as seen:
        call(book)
    statement, params = seen[0]
    with book.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # so only a missing index scans
        plan = "\n".join(
            r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", params).fetchall()
        )
    assert any(name in plan for name in index.split("|")) and "Seq Scan" not in plan, plan
