"""Property-based: random sequences of entries, holds, resolutions and reversals.

Each example runs on a fresh database and is checked against a small reference model of
the ledger's rules (kept deliberately naive). Invariants: every asset sums to zero, stored
balances equal the fold over the journal (and equal the model), replay is deterministic,
nothing without ``allow_negative`` goes below zero available, and each command is accepted
or refused exactly as the model says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    Account,
    HoldNotPending,
    HoldStatus,
    InsufficientFunds,
    Ledger,
    LedgerError,
    NewEntry,
    NotReversible,
    Posted,
    Posting,
)
from ledger.store.engine import make_engine
from ledger.verify import verify

pytestmark = pytest.mark.integration

USERS = ("u1", "u2", "u3", "u4")
WORLD = "world"

amounts = st.integers(min_value=1, max_value=500)
users = st.sampled_from((WORLD, *USERS))
ops = st.one_of(
    st.tuples(st.just("move"), users, users, amounts),
    st.tuples(st.just("hold"), users, users, amounts),
    st.tuples(st.just("post"), st.integers(0, 20)),
    st.tuples(st.just("void"), st.integers(0, 20)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
    st.tuples(st.just("retry"), st.integers(0, 20)),
)


@dataclass
class Model:
    """The rules, naively: dicts and loops, no database."""

    balance: dict[str, int] = field(default_factory=lambda: dict.fromkeys((WORLD, *USERS), 0))
    pending_out: dict[str, int] = field(default_factory=lambda: dict.fromkeys((WORLD, *USERS), 0))
    holds: dict[str, tuple[str, str, int, str]] = field(default_factory=dict)  # id -> s, d, n, st
    moves: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # reversible entries
    reversed: set[str] = field(default_factory=set)

    def can_take(self, account: str, n: int) -> bool:
        return account == WORLD or self.balance[account] - self.pending_out[account] >= n


def _apply(
    book: Ledger, model: Model, op: tuple[object, ...], keys: list[tuple[str, NewEntry]]
) -> None:
    name = op[0]
    if name in ("move", "hold"):
        _, src, dst, n = op
        assert isinstance(src, str) and isinstance(dst, str) and isinstance(n, int)
        if src == dst:
            return
        request = NewEntry("test.move", (Posting(src, dst, "USD", n),), pending=name == "hold")
        key = f"k{len(keys)}"
        keys.append((key, request))
        ok = model.can_take(src, n)
        try:
            posted = book.post_entry(request, idempotency_key=key)
        except InsufficientFunds:
            assert not ok, f"ledger refused {op}, the model accepts it"
            keys[-1] = (key, NewEntry("unused", ()))  # a refused request keeps no key
            return
        assert ok, f"ledger accepted {op}, the model refuses it"
        if name == "hold":
            model.pending_out[src] += n
            model.holds[posted.entry.id] = (src, dst, n, "pending")
        else:
            model.balance[src] -= n
            model.balance[dst] += n
            model.moves[posted.entry.id] = (src, dst, n)
        return
    assert isinstance(op[1], int)
    index = op[1]
    if name in ("post", "void") and model.holds:
        hold_id = list(model.holds)[index % len(model.holds)]
        src, dst, n, status = model.holds[hold_id]
        target = "posted" if name == "post" else "voided"
        try:
            state = book.resolve_hold(hold_id, name)
        except HoldNotPending:
            assert status not in ("pending", target)
            return
        assert status in ("pending", target)
        assert state.status is HoldStatus(target)
        if status == "pending":
            model.pending_out[src] -= n
            if name == "post":
                model.balance[src] -= n
                model.balance[dst] += n
                model.moves[hold_id] = (src, dst, n)
            model.holds[hold_id] = (src, dst, n, target)
    elif name == "reverse" and model.moves:
        entry_id = list(model.moves)[index % len(model.moves)]
        src, dst, n = model.moves[entry_id]
        ok = entry_id not in model.reversed and model.can_take(dst, n)
        try:
            fix = book.reverse(entry_id)
        except (NotReversible, InsufficientFunds):
            assert not ok
            return
        assert ok
        model.reversed.add(entry_id)
        model.balance[dst] -= n
        model.balance[src] += n
        model.moves[fix.entry.id] = (dst, src, n)
    elif name == "retry" and keys:
        key, request = keys[index % len(keys)]
        if request.postings:
            again = book.post_entry(request, idempotency_key=key)
            assert isinstance(again, Posted) and again.replayed


def _check(book: Ledger, model: Model, url: str) -> None:
    engine = book.engine
    first, second = verify(engine), verify(engine)
    assert first.ok, first.problems
    assert (first.entries, first.problems) == (second.entries, second.problems)
    total = 0
    for account in (WORLD, *USERS):
        bal = book.balance(account)
        assert (bal.balance, bal.pending_out) == (
            model.balance[account],
            model.pending_out[account],
        )
        if account != WORLD:
            assert bal.available >= 0
        total += bal.balance
    assert total == 0, f"USD sums to {total} on {url}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=st.lists(ops, min_size=1, max_size=40), group_commit=st.booleans())
def test_random_programs_keep_the_invariants(
    make_db_url: Callable[[str], str],
    backend: str,
    program: list[tuple[object, ...]],
    group_commit: bool,
) -> None:
    url = make_db_url(backend)
    engine = make_engine(url)
    try:
        with Ledger(engine, group_commit=group_commit) as book:
            book.create_account(Account(WORLD, "USD", allow_negative=True))
            for user in USERS:
                book.create_account(Account(user, "USD"))
            model = Model()
            keys: list[tuple[str, NewEntry]] = []
            for op in program:
                try:
                    _apply(book, model, op, keys)
                except LedgerError as error:  # pragma: no cover - shows the op that broke
                    raise AssertionError(f"{op}: unexpected {error!r}") from error
            _check(book, model, url)
    finally:
        engine.dispose()
