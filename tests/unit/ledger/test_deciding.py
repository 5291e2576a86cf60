"""The deciding rules, without a database: :func:`ledger.deciding.decide` over snapshots.

Hypothesis drives random batches of posts, holds, resolutions and reversals (with reused
idempotency keys, ids that exist or not, accounts of other assets or none) and checks:
no overdraft without ``allow_negative`` (counting holds), gapless seq and an unbroken hash
chain, conservation per asset, idempotent replays, holds resolved once, reversals once, and
that a batch decides exactly what the same commands decide one by one (group commit changes
nothing but the number of transactions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.commands import Command, HoldAction, Outcome, PostEntry, ResolveHold, Reverse
from ledger.deciding import balance_deltas, decide
from ledger.errors import (
    AssetMismatch,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    LimitExceeded,
    NotFound,
    NotReversible,
    UnknownAccount,
)
from ledger.model import (
    Direction,
    Entry,
    EntryType,
    HoldState,
    HoldStatus,
    Limit,
    NewEntry,
    Posted,
    Posting,
)
from ledger.snapshot import AccountState, Decision, Snapshot, needs_of
from tests.unit.ledger.snapshots import NOW, accounts, advance, chain_ok, counter, empty

STATES = accounts(
    ("world:usd", "USD", True),
    ("u1", "USD", False),
    ("u2", "USD", False),
    ("u3", "USD", False),
    ("world:azr", "AZR", True),
    ("a1", "AZR", False),
)
ASSET_OF = {a: s.asset for a, s in STATES.items()}
NAMES = (*STATES, "ghost")  # "ghost" does not exist
KEYS = ("k1", "k2", "k3", "k4")

# --- strategies ----------------------------------------------------------------------------

pairs = st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES)).filter(lambda p: p[0] != p[1])
keys = st.none() | st.sampled_from(KEYS)
entry_refs = st.integers(1, 40).map(lambda n: f"e{n}")


@st.composite
def posts(draw: st.DrawFn) -> PostEntry:
    source, destination = draw(pairs)
    asset = ASSET_OF.get(source, "USD")
    pending = draw(st.booleans())
    expires = draw(st.none() | st.integers(1, 6)) if pending else None
    request = NewEntry(
        draw(st.sampled_from(("transfer", "reward.earned"))),
        (Posting(source, destination, asset, draw(st.integers(1, 400))),),
        metadata={"n": draw(st.integers(0, 2))},
        pending=pending,
        expires_at=None if expires is None else NOW + timedelta(minutes=expires),
        identity=draw(st.none() | st.sampled_from(({"cmd": "a"}, {"cmd": "b"}))),
    )
    return PostEntry(request, draw(st.sampled_from(("p1", "p2"))), draw(keys))


commands = st.one_of(
    posts(),
    st.builds(ResolveHold, entry_refs, st.sampled_from(list(HoldAction))),
    st.builds(Reverse, entry_refs, st.just("p1"), keys),
)
batches = st.lists(st.lists(commands, min_size=1, max_size=8), min_size=1, max_size=6)


# --- invariants ----------------------------------------------------------------------------


def check_decision(before: Snapshot, commands: Sequence[Command], decision: Decision) -> None:
    assert len(decision.outcomes) == len(commands)
    assert chain_ok(before.head_hash, before.head_seq + 1, decision.entries)
    assert decision.head_seq == before.head_seq + len(decision.entries)
    assert decision.head_hash == (
        decision.entries[-1].hash if decision.entries else before.head_hash
    )
    # Conservation: every entry's deltas sum to zero per asset, pending out equals in.
    for e in decision.entries:
        per_asset: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for account, (d_balance, d_out, d_in) in balance_deltas(e).items():
            totals = per_asset[ASSET_OF[account]]
            totals[0] += d_balance
            totals[1] += d_out - d_in
        assert all(t == [0, 0] for t in per_asset.values()), e
    # No overdraft after any entry, replayed one at a time from the locked rows.
    state = dict(before.accounts)
    for e in decision.entries:
        for account, (d_balance, d_out, d_in) in balance_deltas(e).items():
            s = state[account]
            s = replace(
                s,
                balance=s.balance + d_balance,
                pending_out=s.pending_out + d_out,
                pending_in=s.pending_in + d_in,
            )
            state[account] = s
            assert s.allow_negative or s.available >= 0, (account, s)
            assert s.pending_out >= 0 and s.pending_in >= 0
    for final in decision.accounts:
        assert (final.balance, final.pending_out, final.pending_in) == (
            state[final.account_id].balance,
            state[final.account_id].pending_out,
            state[final.account_id].pending_in,
        )


def check_journal(journal: Sequence[Entry]) -> None:
    """Across every batch: holds resolved once with their postings, reversals once."""
    by_id = {e.id: e for e in journal}
    resolved: set[str] = set()
    reversed_: set[str] = set()
    for e in journal:
        if e.type.resolves_hold:
            assert e.hold_id not in resolved
            resolved.add(e.hold_id or "")
            hold = by_id[e.hold_id or ""]
            assert hold.type is EntryType.PENDING and hold.postings == e.postings
            assert hold.seq < e.seq
        if e.reverses_id is not None:
            assert e.reverses_id not in reversed_
            reversed_.add(e.reverses_id)
    totals: dict[str, int] = defaultdict(int)
    for e in journal:
        for account, (d_balance, _o, _i) in balance_deltas(e).items():
            totals[ASSET_OF[account]] += d_balance
    assert all(v == 0 for v in totals.values())


def check_idempotency(before: Snapshot, commands: Sequence[Command], decision: Decision) -> None:
    """A reused key replays the first entry with that fingerprint, or conflicts."""
    seen = dict(before.by_key)
    for command, outcome in zip(commands, decision.outcomes, strict=True):
        if not isinstance(command, PostEntry) or command.idempotency_key is None:
            continue
        key = (command.principal, command.idempotency_key)
        earlier = seen.get(key)
        if earlier is None:
            if isinstance(outcome, Posted):
                assert not outcome.replayed
                seen[key] = outcome.entry
            continue
        if earlier.fingerprint == command.request.fingerprint():
            assert outcome == Posted(earlier, replayed=True)
        else:
            assert isinstance(outcome, IdempotencyConflict)
    for e in decision.entries:  # reversals take keys too
        if e.idempotency_key is not None:
            assert (e.principal, e.idempotency_key) not in before.by_key


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(batches)
def test_random_batches_keep_every_invariant(plan: list[list[Command]]) -> None:
    snapshot = empty(STATES)
    new_id = counter()
    journal: list[Entry] = []
    for minute, batch in enumerate(plan):
        decision = decide(snapshot, batch, NOW + timedelta(minutes=minute), new_id)
        check_decision(snapshot, batch, decision)
        check_idempotency(snapshot, batch, decision)
        journal.extend(decision.entries)
        snapshot = advance(snapshot, decision)
    check_journal(journal)


@settings(max_examples=200, deadline=None)
@given(st.lists(commands, min_size=1, max_size=14), st.integers(0, 5))
def test_a_batch_decides_what_the_commands_decide_one_by_one(
    batch: list[Command], minute: int
) -> None:
    now = NOW + timedelta(minutes=minute)
    seed = decide(empty(STATES), [_fund("u1", 300), _fund("u2", 200)], now, counter("s"))
    start = advance(empty(STATES), seed)
    together = decide(start, batch, now, counter())
    snapshot, new_id = start, counter()
    outcomes: list[Outcome] = []
    entries: list[Entry] = []
    for command in batch:
        alone = decide(snapshot, [command], now, new_id)
        outcomes.extend(alone.outcomes)
        entries.extend(alone.entries)
        snapshot = advance(snapshot, alone)
    assert [_comparable(o) for o in together.outcomes] == [_comparable(o) for o in outcomes]
    assert list(together.entries) == entries
    assert (together.head_seq, together.head_hash) == (snapshot.head_seq, snapshot.head_hash)
    final = {a.account_id: a for a in together.accounts}
    assert all(snapshot.accounts[a] == s for a, s in final.items())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KEYS),
            st.sampled_from(({"user": "1"}, {"user": "2"})),
            st.integers(0, 3),  # effective_at varies between copies
            st.integers(1, 3),  # and so may the amount: the identity decides
        ),
        min_size=1,
        max_size=12,
    )
)
def test_identity_defines_the_command_for_idempotency(
    copies: list[tuple[str, dict[str, str], int, int]],
) -> None:
    first: dict[str, tuple[dict[str, str], Entry]] = {}
    snapshot, new_id = empty(STATES), counter()
    for key, identity, offset_s, amount in copies:
        request = NewEntry(
            "reward.earned",
            (Posting("world:usd", "u1", "USD", amount),),
            effective_at=NOW + timedelta(seconds=offset_s),
            identity=identity,
        )
        decision = decide(snapshot, [PostEntry(request, "svc", key)], NOW, new_id)
        (outcome,) = decision.outcomes
        if key not in first:
            assert isinstance(outcome, Posted) and not outcome.replayed
            first[key] = (identity, outcome.entry)
        elif first[key][0] == identity:
            assert outcome == Posted(first[key][1], replayed=True)
        else:
            assert isinstance(outcome, IdempotencyConflict)
        snapshot = advance(snapshot, decision)
    assert snapshot.head_seq == len(first)


# --- the rules, one example each -----------------------------------------------------------


def _fund(account: str, amount: int, *, key: str | None = None) -> PostEntry:
    asset = ASSET_OF[account]
    world = "world:usd" if asset == "USD" else "world:azr"
    request = NewEntry("transfer", (Posting(world, account, asset, amount),))
    return PostEntry(request, "p1", key)


def _move(source: str, destination: str, amount: int, **request: object) -> PostEntry:
    entry = NewEntry("transfer", (Posting(source, destination, "USD", amount),), **request)  # type: ignore[arg-type]
    return PostEntry(entry, "p1")


def _comparable(outcome: object) -> object:
    if isinstance(outcome, LedgerError):
        return (type(outcome), outcome.detail)
    return outcome


def _run(*batches: Sequence[Command], at: datetime = NOW) -> tuple[Snapshot, list[Decision]]:
    snapshot, new_id, decisions = empty(STATES), counter(), []
    for batch in batches:
        decision = decide(snapshot, batch, at, new_id)
        decisions.append(decision)
        snapshot = advance(snapshot, decision)
    return snapshot, decisions


def test_a_hold_counts_against_what_is_available() -> None:
    snapshot, (d,) = _run(
        [_fund("u1", 100), _move("u1", "u2", 70, pending=True), _move("u1", "u2", 40)]
    )
    assert isinstance(d.outcomes[2], InsufficientFunds)
    assert snapshot.accounts["u1"].available == 30
    assert len(d.entries) == 2


def test_refusals_leave_no_trace_and_later_commands_go_on() -> None:
    snapshot, (d,) = _run(
        [
            _move("u1", "ghost", 1),
            PostEntry(NewEntry("transfer", (Posting("u1", "a1", "USD", 1),)), "p1"),
            _fund("u2", 5),
        ]
    )
    assert isinstance(d.outcomes[0], UnknownAccount)
    assert isinstance(d.outcomes[1], AssetMismatch)
    assert isinstance(d.outcomes[2], Posted)
    assert [e.seq for e in d.entries] == [1]
    assert snapshot.accounts["u2"].balance == 5


def test_posting_an_expired_hold_records_the_expiry_and_refuses() -> None:
    hold = _move("u1", "u2", 10, pending=True, expires_at=NOW + timedelta(minutes=1))
    snapshot, _ = _run([_fund("u1", 10), hold])
    hold_id = "e2"
    later = NOW + timedelta(minutes=2)
    decision = decide(snapshot, [ResolveHold(hold_id, HoldAction.POST)], later, counter("r"))
    (outcome,) = decision.outcomes
    assert isinstance(outcome, HoldNotPending)
    (expiry,) = decision.entries
    assert expiry.type is EntryType.EXPIRE_PENDING and expiry.hold_id == hold_id
    again = decide(
        advance(snapshot, decision), [ResolveHold(hold_id, HoldAction.VOID)], later, counter("v")
    )
    assert again.outcomes[0] == HoldState(snapshot.by_id[hold_id], HoldStatus.EXPIRED, expiry)
    assert again.entries == ()


def test_a_hold_resolves_once_and_repeats_answer_the_state() -> None:
    _, (d,) = _run(
        [
            _fund("u1", 10),
            _move("u1", "u2", 10, pending=True),
            ResolveHold("e2", HoldAction.POST),
            ResolveHold("e2", HoldAction.POST),
            ResolveHold("e2", HoldAction.VOID),
            ResolveHold("e1", HoldAction.VOID),
            ResolveHold("e9", HoldAction.VOID),
        ]
    )
    posted, repeat, void, not_hold, missing = d.outcomes[2:]
    assert isinstance(posted, HoldState) and posted.status is HoldStatus.POSTED
    assert repeat == posted
    assert isinstance(void, HoldNotPending)
    assert isinstance(not_hold, NotFound) and isinstance(missing, NotFound)
    assert [e.type for e in d.entries].count(EntryType.POST_PENDING) == 1


def test_a_reversal_happens_once_and_only_of_what_moved_value() -> None:
    _, (d,) = _run(
        [
            _fund("u1", 10),
            Reverse("e1", "p1", "undo"),
            Reverse("e1", "p1", "undo"),
            Reverse("e1", "p1", "undo-again"),
            _move("world:usd", "u2", 1, pending=True),
            Reverse("e3", "p1"),
        ]
    )
    first, replay, twice, _hold, hold_reversal = d.outcomes[1:]
    assert isinstance(first, Posted) and first.entry.reverses_id == "e1"
    assert replay == Posted(first.entry, replayed=True)
    assert isinstance(twice, NotReversible)
    assert isinstance(hold_reversal, NotReversible)


def test_limits_count_the_snapshot_and_the_batch() -> None:
    window = (NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    cap = Limit("u1", "reward.earned", *window, 100, Direction.IN)
    snapshot = replace(empty(STATES), limit_usage={cap: 60})

    def earn(n: int) -> PostEntry:
        request = NewEntry("reward.earned", (Posting("world:usd", "u1", "USD", n),), limits=(cap,))
        return PostEntry(request, "p1")

    d = decide(snapshot, [earn(30), earn(20), earn(10)], NOW, counter())
    assert isinstance(d.outcomes[0], Posted)
    assert isinstance(d.outcomes[1], LimitExceeded)
    assert isinstance(d.outcomes[2], Posted)
    with pytest.raises(KeyError):  # a snapshot without the limit's usage is a loader bug
        decide(empty(STATES), [earn(1)], NOW, counter())


def test_needs_name_everything_the_commands_refer_to() -> None:
    cap = Limit("u1", "reward.earned", NOW, NOW + timedelta(days=1), 5)
    request = NewEntry("reward.earned", (Posting("world:usd", "u1", "USD", 1),), limits=(cap,))
    needs = needs_of(
        [
            PostEntry(request, "p1", "k1"),
            ResolveHold("h1", HoldAction.VOID),
            Reverse("e7", "p2", "k2"),
        ]
    )
    assert needs.keys == {("p1", "k1"), ("p2", "k2")}
    assert needs.entry_ids == {"h1", "e7"} and needs.reverse_ids == {"e7"}
    assert needs.accounts == {"world:usd", "u1"}
    assert needs.limits == {cap}


def test_history_lines_carry_running_balances() -> None:
    _, (d,) = _run([_fund("u1", 50), _move("u1", "u2", 20), _move("u1", "u2", 5, pending=True)])
    lines = [(ln.account_id, ln.seq, ln.amount, ln.balance_after) for ln in d.lines]
    assert lines == [
        ("world:usd", 1, -50, -50),
        ("u1", 1, 50, 50),
        ("u1", 2, -20, 30),
        ("u2", 2, 20, 20),
    ]
    assert {a.account_id: a for a in d.accounts}["u1"] == AccountState(
        "u1", "USD", False, 30, 5, 0, 3
    )
