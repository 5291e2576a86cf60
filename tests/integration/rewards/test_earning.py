"""Earning rules, caps, replays, spends, gifts, adjustments and history on both back ends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from ledger import IdempotencyConflict, InsufficientFunds, InvalidRequest, LedgerError
from monetization.rewards import EarningRule, Rewards, RewardsConfig
from monetization.rewards.errors import (
    CapReached,
    TransferLimitReached,
    TransfersDisabled,
    UnknownEventType,
)
from monetization.rewards.model import REWARDS_POOL, SPENT, user_account
from tests.integration.ledgerkit import journal_size
from tests.integration.rewards.conftest import AZR, FakeClock, fund


def test_an_event_earns_its_rule_and_history_shows_it(rewards: Rewards) -> None:
    earning = rewards.earnings.earn(
        "evt-1", "u1", "quiz.passed", {"quiz": "q-7"}, principal="key:svc"
    )
    assert earning.amount == 10 * AZR and not earning.replayed
    assert earning.entry.kind == "reward.earned.quiz.passed"
    assert rewards.earnings.balance("u1") == (10 * AZR, 10 * AZR)
    (line,) = rewards.earnings.history("u1")
    assert line.amount == 10 * AZR and line.balance_after == 10 * AZR
    assert line.metadata["event_type"] == "quiz.passed"
    assert line.metadata["event_id"] == "evt-1"
    assert line.metadata["metadata"] == {"quiz": "q-7"}
    assert line.metadata["rule"] == {"amount": str(10 * AZR), "daily_cap": str(100 * AZR)}


def test_a_replayed_event_answers_the_original(rewards: Rewards, engine: Engine) -> None:
    first = rewards.earnings.earn("evt-1", "u1", "lesson.completed", principal="key:svc")
    size = journal_size(engine)
    again = rewards.earnings.earn("evt-1", "u1", "lesson.completed", principal="key:svc")
    assert again.replayed and again.entry.id == first.entry.id
    assert journal_size(engine) == size
    with pytest.raises(IdempotencyConflict):
        rewards.earnings.earn("evt-1", "u2", "lesson.completed", principal="key:svc")
    # Another service's event ids are its own.
    other = rewards.earnings.earn("evt-1", "u1", "lesson.completed", principal="key:other")
    assert other.entry.id != first.entry.id


def test_a_replay_after_the_rule_or_the_day_changed_answers_the_original(
    rewards: Rewards, engine: Engine, clock: FakeClock
) -> None:
    """effective_at and the rule are stamped when the event is earned, not part of what
    the event is: the ledger's identity replays it, whatever they are by then."""
    rewards.earnings.put_rule(EarningRule("video.watched", 2 * AZR, 2 * AZR))
    first = rewards.earnings.earn("vid-1", "u1", "video.watched", {"video": "v-1"})
    size = journal_size(engine)
    rewards.earnings.put_rule(EarningRule("video.watched", 7 * AZR, None))
    clock.advance(days=1, hours=3)  # another instant, another UTC day
    again = rewards.earnings.earn("vid-1", "u1", "video.watched", {"video": "v-1"})
    assert again.replayed and again.entry == first.entry
    assert again.amount == 2 * AZR  # what it earned, not today's rule
    assert again.entry.metadata["rule"] == {"amount": str(2 * AZR), "daily_cap": str(2 * AZR)}
    rewards.earnings.put_rule(EarningRule("video.watched", 7 * AZR, None, active=False))
    off = rewards.earnings.earn("vid-1", "u1", "video.watched", {"video": "v-1"})
    assert off.replayed and off.entry == first.entry and off.amount == 2 * AZR
    with pytest.raises(IdempotencyConflict):  # the same id, another event
        rewards.earnings.earn("vid-1", "u1", "video.watched", {"video": "v-2"})
    with pytest.raises(IdempotencyConflict):
        rewards.earnings.earn("vid-1", "u1", "lesson.completed", {"video": "v-1"})
    with pytest.raises(UnknownEventType):  # an unused id under a rule switched off
        rewards.earnings.earn("vid-2", "u1", "video.watched", {"video": "v-1"})
    assert journal_size(engine) == size
    assert rewards.earnings.balance("u1")[0] == 2 * AZR


def test_a_replay_past_the_cap_answers_the_original(rewards: Rewards) -> None:
    earnings = [rewards.earnings.earn(f"l-{i}", "u1", "lesson.completed") for i in range(10)]
    with pytest.raises(CapReached):
        rewards.earnings.earn("l-10", "u1", "lesson.completed")
    again = rewards.earnings.earn("l-3", "u1", "lesson.completed")
    assert again.replayed and again.entry == earnings[3].entry


def test_concurrent_copies_of_one_event_earn_once(rewards: Rewards, engine: Engine) -> None:
    rewards.earnings.earn("warm-up", "u1", "quiz.passed")
    size = journal_size(engine)

    def earn(_: int) -> tuple[str, bool]:
        earning = rewards.earnings.earn("same-1", "u1", "lesson.completed", {"n": 1})
        return earning.entry.id, earning.replayed

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(earn, range(24)))
    assert len({entry_id for entry_id, _ in results}) == 1
    assert sum(not replayed for _, replayed in results) == 1
    assert journal_size(engine)[0] == size[0] + 1
    assert rewards.earnings.balance("u1")[0] == (10 + 5) * AZR


def test_the_daily_cap_holds_and_resets_at_utc_midnight(
    rewards: Rewards, engine: Engine, clock: FakeClock
) -> None:
    for i in range(10):
        rewards.earnings.earn(f"l-{i}", "u1", "lesson.completed")
    size = journal_size(engine)
    with pytest.raises(CapReached) as refused:
        rewards.earnings.earn("l-10", "u1", "lesson.completed")
    assert refused.value.code == "cap-reached" and "50" in refused.value.detail
    assert journal_size(engine) == size
    # Other rules have their own caps; other users their own.
    rewards.earnings.earn("q-1", "u1", "quiz.passed")
    rewards.earnings.earn("l-other", "u2", "lesson.completed")
    clock.advance(hours=12)
    rewards.earnings.earn("l-10", "u1", "lesson.completed")  # the refused key is still free
    assert rewards.earnings.balance("u1")[0] == (55 + 10) * AZR


def test_concurrent_events_never_pass_the_cap(rewards: Rewards, engine: Engine) -> None:
    def earn(i: int) -> bool:
        try:
            rewards.earnings.earn(f"c-{i}", "u1", "lesson.completed")
        except CapReached:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(earn, range(30)))
    assert sum(results) == 10
    assert rewards.earnings.balance("u1")[0] == 50 * AZR


def test_unknown_types_and_bad_input_write_nothing(rewards: Rewards, engine: Engine) -> None:
    rewards.earnings.earn("warm-up", "u1", "lesson.completed")
    size = journal_size(engine)
    with pytest.raises(UnknownEventType):
        rewards.earnings.earn("e1", "u1", "video.watched")
    bad: list[tuple[str, str, str, dict[str, object]]] = [
        ("e2", "U1", "lesson.completed", {}),  # user ids are lower case
        ("e 3", "u1", "lesson.completed", {}),  # event ids are idempotency keys
        ("e4", "u1", "Lesson", {}),
        ("e5", "u1", "lesson.completed", {"score": 0.5}),  # no floats in metadata
        ("e6", "u1", "lesson.completed", {"x": "y" * 20_000}),  # metadata is bounded
    ]
    for event_id, user, event_type, metadata in bad:
        with pytest.raises(InvalidRequest):
            rewards.earnings.earn(event_id, user, event_type, metadata)
    assert journal_size(engine) == size


def test_admins_edit_rules_as_data(rewards: Rewards) -> None:
    rewards.earnings.put_rule(EarningRule("video.watched", 1 * AZR, 3 * AZR))
    for i in range(3):
        rewards.earnings.earn(f"v-{i}", "u1", "video.watched")
    with pytest.raises(CapReached):
        rewards.earnings.earn("v-3", "u1", "video.watched")
    rewards.earnings.put_rule(EarningRule("video.watched", 1 * AZR, None, active=False))
    with pytest.raises(UnknownEventType):
        rewards.earnings.earn("v-4", "u1", "video.watched")
    assert {r.event_type for r in rewards.earnings.rules()} >= {"lesson.completed", "video.watched"}


def test_spend_gift_and_adjust(rewards: Rewards, engine: Engine) -> None:
    fund(rewards, "u1", 10)
    spent = rewards.earnings.spend("u1", 20 * AZR, key="buy-1", metadata={"item": "theme"})
    assert spent.entry.kind == "reward.spent"
    assert spent.entry.postings[0].destination == SPENT
    with pytest.raises(InsufficientFunds):
        rewards.earnings.spend("u1", 31 * AZR, key="buy-2")
    gift = rewards.earnings.gift("u1", "u2", 10 * AZR, key="g-1", message="thanks")
    assert gift.entry.kind == "reward.transferred"
    assert rewards.earnings.balance("u2")[0] == 10 * AZR
    earned = rewards.earnings.earn("x-1", "u3", "course.completed")
    adjusted = rewards.earnings.adjust(earned.entry.id, reason="duplicate course", key="adj-1")
    assert adjusted.entry.reverses_id == earned.entry.id
    assert adjusted.entry.kind == "reward.adjusted.earned"
    assert adjusted.entry.postings[0].source == user_account("u3")
    assert adjusted.entry.postings[0].destination == REWARDS_POOL
    assert rewards.earnings.balance("u3")[0] == 0
    with pytest.raises(InvalidRequest):
        rewards.earnings.adjust(adjusted.entry.id, reason="again", key="adj-2")
    kinds = [line.kind for line in rewards.earnings.history("u1")]
    assert kinds[:2] == ["reward.transferred", "reward.spent"]


def test_gift_limit_and_switch(ledger_: object, rewards: Rewards, clock: FakeClock) -> None:
    fund(rewards, "u1", 10)
    limited = Rewards(
        rewards.book,
        settings=RewardsConfig(gifts_enabled=True, gift_daily_limit_units=15 * AZR),
        clock=clock,
    )
    limited.earnings.gift("u1", "u2", 10 * AZR, key="g-1")
    with pytest.raises(TransferLimitReached):
        limited.earnings.gift("u1", "u2", 6 * AZR, key="g-2")
    clock.advance(days=1)
    limited.earnings.gift("u1", "u2", 6 * AZR, key="g-2")
    off = Rewards(rewards.book, settings=RewardsConfig(gifts_enabled=False), clock=clock)
    with pytest.raises(TransfersDisabled) as refused:
        off.earnings.gift("u1", "u2", 1 * AZR, key="g-3")
    assert isinstance(refused.value, LedgerError)
