"""The redemption state table (states.py): its frozen copy in the migrations, its own
consistency, and the pure decisions made from it (no database)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st

from ledger import HoldStatus
from migrations import frozen
from monetization.rewards import states
from monetization.rewards.states import (
    CANCEL,
    FULFIL,
    INITIAL,
    INTENT_VALUES,
    INTENTS,
    NEXT,
    OPEN,
    TERMINAL,
    TRANSITIONS,
    RedemptionStatus,
    Step,
    action_won,
    outcome,
    settle_step,
)

ROOT = Path(__file__).resolve().parents[3]
S = RedemptionStatus
GRACE = timedelta(seconds=30)
T0 = datetime(2030, 6, 12, 12, 0, tzinfo=UTC)
ENDED = (HoldStatus.POSTED, HoldStatus.VOIDED, HoldStatus.EXPIRED)


def _migration() -> ModuleType:
    path = ROOT / "migrations" / "versions" / "0060_rewards_states.py"
    spec = importlib.util.spec_from_file_location("rewards_states_0060", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _value(status: RedemptionStatus | None) -> str | None:
    return None if status is None else status.value


def test_the_frozen_copy_is_the_code_s_table() -> None:
    assert tuple(s.value for s in S) == frozen.REDEMPTION_STATUSES_0060
    assert (
        tuple((a.value, b.value) for a, b, _ in TRANSITIONS) == frozen.REDEMPTION_TRANSITIONS_0060
    )
    assert tuple(i.value for i in INTENT_VALUES) == frozen.REDEMPTION_INTENT_VALUES_0060
    code_intents = {s.value: {_value(i) for i in INTENTS[s]} for s in S}
    assert {s: set(i) for s, i in frozen.REDEMPTION_INTENTS_0060.items()} == code_intents


def test_the_migration_checks_what_the_declared_table_checks() -> None:
    migration = _migration()
    assert migration.status_sql() == states.status_check_sql()
    assert migration.intent_sql() == states.intent_check_sql()
    for a, b, _why in TRANSITIONS:
        assert f"'{a.value}>{b.value}'" in migration.moves_sql()


def test_the_table_is_consistent() -> None:
    assert len({(a, b) for a, b, _ in TRANSITIONS}) == len(TRANSITIONS)
    assert all(a is not b for a, b, _ in TRANSITIONS)
    assert {S.FULFILLED, S.CANCELLED, S.REJECTED, S.FAILED, S.EXPIRED} == TERMINAL
    assert {S.REQUESTED, S.HELD, S.MINTING} == OPEN
    assert all(s.terminal is (s in TERMINAL) for s in S)
    assert set(INTENT_VALUES) <= TERMINAL
    # Every status is reachable from the first one.
    seen, todo = {INITIAL}, [INITIAL]
    while todo:
        for nxt in NEXT[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(S)


def test_every_outcome_of_an_open_row_is_one_of_its_transitions() -> None:
    for status in OPEN - {S.REQUESTED}:
        for intent in INTENTS[status]:
            for hold in ENDED:
                assert outcome(hold, intent) in NEXT[status], (status, intent, hold)
    assert outcome(HoldStatus.VOIDED, S.CANCELLED) is S.CANCELLED
    assert outcome(HoldStatus.VOIDED, None) is S.FAILED
    assert outcome(HoldStatus.POSTED, None) is S.FULFILLED
    assert outcome(HoldStatus.EXPIRED, S.FULFILLED) is S.EXPIRED


@dataclass(frozen=True)
class Row:
    status: RedemptionStatus
    intent: RedemptionStatus | None
    hold_entry_id: str | None
    mint: object | None
    created_at: datetime
    expires_at: datetime


@st.composite
def rows(draw: st.DrawFn) -> Row:
    status = draw(st.sampled_from(list(S)))
    intent = draw(st.sampled_from(sorted(INTENTS[status], key=lambda i: _value(i) or "")))
    has_hold = status is not S.REQUESTED and draw(st.booleans())
    has_mint = status is S.MINTING and draw(st.booleans())
    created = T0 - timedelta(seconds=draw(st.integers(0, 120)))
    expires = created + timedelta(seconds=draw(st.integers(0, 240)))
    return Row(status, intent, "h1" if has_hold else None, object() if has_mint else None,
               created, expires)  # fmt: skip


holds = st.sampled_from([None, *HoldStatus])


@given(rows(), holds)
def test_settle_step_follows_the_table(row: Row, hold: HoldStatus | None) -> None:
    step = settle_step(row, hold, T0, GRACE)
    if row.status in TERMINAL:
        assert step is Step.DONE
    if step is Step.POST_HOLD:
        assert row.status is S.REQUESTED and T0 - row.created_at >= GRACE
    if step is Step.FINISH:
        assert hold in ENDED
        assert outcome(hold, row.intent) in NEXT[row.status]
    if step is Step.EXPIRE_HOLD:
        assert hold is HoldStatus.PENDING and row.expires_at <= T0
    if step is Step.ABANDON_MINT:
        assert row.status is S.MINTING and row.mint is None and row.expires_at <= T0
    claimed_mint = row.status is S.MINTING and row.intent is S.FULFILLED
    if claimed_mint and row.mint is not None and hold is not HoldStatus.POSTED:
        assert step is Step.DONE  # a recorded mint: the chain decides, not the deadline


@given(rows())
def test_a_pending_hold_before_its_deadline_waits(row: Row) -> None:
    if row.status in OPEN and row.expires_at > T0 and row.status is not S.REQUESTED:
        assert settle_step(row, HoldStatus.PENDING, T0, GRACE) is Step.DONE


@given(st.sampled_from(list(S)), st.sampled_from([None, *INTENT_VALUES]))
def test_of_actions_that_did_not_claim_at_most_one_wins(
    status: RedemptionStatus, intent: RedemptionStatus | None
) -> None:
    actions = (FULFIL, CANCEL, states.REJECT)
    winners = [a for a in actions if action_won(a, False, status, intent)]
    assert len(winners) <= 1
    for action in winners:
        assert status is action.intent or (status in OPEN and intent is action.intent)


@given(st.sampled_from(list(S)), st.sampled_from([None, *INTENT_VALUES]))
def test_a_claim_wins_unless_the_deadline_came_first(
    status: RedemptionStatus, intent: RedemptionStatus | None
) -> None:
    for action in (FULFIL, CANCEL, states.REJECT):
        assert action_won(action, True, status, intent) is (status is not S.EXPIRED)
