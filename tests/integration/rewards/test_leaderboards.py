"""Leaderboards equal a brute-force computation from the ledger, on random data: the
boards, the caller's rank, and the per-bucket counts the rank is computed from."""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, text, update

from monetization.rewards import Rewards, Window
from monetization.rewards import scores as lb
from monetization.rewards.errors import CapReached
from monetization.rewards.model import (
    counts_as_earned,
    rank_scores,
    user_account,
    window_start,
)
from monetization.rewards.tables import leaderboard_buckets, leaderboard_scores
from tests.integration.rewards.conftest import AZR, FakeClock

USERS = [f"u{i}" for i in range(8)]
TYPES = ["lesson.completed", "quiz.passed", "course.completed", "streak.daily"]


def brute_force(rewards: Rewards, window: Window, at: datetime) -> dict[str, int]:
    """Scores from each user's ledger history (public API), no projection involved."""
    start = window_start(window, at)
    scores: dict[str, int] = defaultdict(int)
    for user in USERS:
        for line in rewards.earnings.history(user, limit=500):
            if counts_as_earned(line.kind) and window_start(window, line.effective_at) == start:
                scores[user] += line.amount
    return {u: s for u, s in scores.items() if s > 0}


def members(rewards: Rewards, scope: str) -> set[str] | None:
    if scope == "global":
        return None
    kind, _, ident = scope.partition(":")
    if kind == "class":
        return set(rewards.social.members(ident))
    mutual = {f.friend_id for f in rewards.social.friends(ident) if f.mutual}
    return mutual | {ident}


def stored_buckets(engine: Engine, window: Window, at: datetime) -> Counter[int]:
    b = leaderboard_buckets.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(b.bucket, b.users).where(
                b.period == window.value, b.period_start == window_start(window, at).isoformat()
            )
        ).all()
    assert all(r.users > 0 for r in rows), rows  # empty buckets are deleted
    return Counter({r.bucket: r.users for r in rows})


def assert_boards_match(rewards: Rewards, at: datetime) -> None:
    rewards.projector.catch_up()  # (reads catch up too; the bucket check reads directly)
    for window in Window:
        expected_all = brute_force(rewards, window, at)
        # The structure the rank is read from: ranked users per bucket, from the ledger.
        want = Counter(lb.bucket_of(score) for score in expected_all.values())
        assert stored_buckets(rewards.book.engine, window, at) == want, window
        for scope in ("global", "class:c1", "class:c2", "friends:u0", "friends:u3"):
            allowed = members(rewards, scope)
            expected = {u: s for u, s in expected_all.items() if allowed is None or u in allowed}
            ranked = rank_scores(expected)
            for me in ("u0", "u5"):
                board = rewards.leaderboards.board(scope, window, me=me, limit=3, at=at)
                assert list(board.entries) == ranked[:3], (scope, window)
                mine = [r for r in ranked if r.user_id == me]
                assert board.me == (mine[0] if mine else None), (scope, window, me)


actions = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.sampled_from(USERS), st.sampled_from(TYPES)),
        st.tuples(st.just("wait"), st.integers(1, 24 * 12), st.just("")),
        st.tuples(st.just("adjust"), st.sampled_from(USERS), st.just("")),
        st.tuples(st.just("class"), st.sampled_from(USERS), st.sampled_from(["c1", "c2"])),
        st.tuples(st.just("friend"), st.sampled_from(USERS), st.sampled_from(USERS)),
    ),
    max_size=25,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=actions, look_back_h=st.integers(0, 24 * 40))
@pytest.mark.parametrize("digits", [1, lb.BUCKET_DIGITS])
def test_leaderboards_equal_brute_force(
    rewards: Rewards,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    digits: int,
    steps: list[tuple[str, object, str]],
    look_back_h: int,
) -> None:
    # One significant digit puts 10..19 AZR in one bucket: the count inside the caller's
    # bucket then matters (with 3, the test's scores mostly get a bucket each).
    monkeypatch.setattr(lb, "BUCKET_DIGITS", digits)
    # The database persists across examples: state only grows, equality must always hold.
    for n, (action, a, b) in enumerate(steps):
        if action == "earn":
            with contextlib.suppress(CapReached):
                rewards.earnings.earn(f"e-{clock().timestamp()}-{n}", str(a), b)
        elif action == "wait":
            clock.advance(hours=int(str(a)))
        elif action == "adjust":
            lines = [
                ln
                for ln in rewards.earnings.history(str(a), limit=20)
                if ln.kind.startswith("reward.earned.")
            ]
            balance = rewards.earnings.balance(str(a))[1]
            for line in lines:
                if line.amount <= balance:
                    try:
                        rewards.earnings.adjust(
                            line.entry_id, reason="test", key=f"adj-{line.entry_id}"
                        )
                    except Exception:  # already adjusted: fine
                        continue
                    break
        elif action == "class":
            rewards.social.join_class(b, str(a))
        elif action == "friend" and a != b:
            rewards.social.befriend(str(a), b)
    assert_boards_match(rewards, clock())
    assert_boards_match(rewards, clock() - timedelta(hours=look_back_h))
    assert rewards.projector.check() == []
    if steps and steps[0][0] == "wait":  # now and then: a rebuild gives the same structure
        rewards.projector.rebuild()
        assert_boards_match(rewards, clock())


def test_rebuild_and_check(rewards: Rewards, engine: Engine, clock: FakeClock) -> None:
    for i, user in enumerate(USERS):
        for j in range(i + 1):
            rewards.earnings.earn(f"e-{user}-{j}", user, "quiz.passed")
        clock.advance(days=3)
    board = rewards.leaderboards.board("global", "all", me="u0")
    assert [r.user_id for r in board.entries] == list(reversed(USERS))
    assert board.me is not None and board.me.rank == 8 and board.me.score == 10 * AZR
    assert rewards.projector.check() == []
    with engine.begin() as conn:  # corrupt the projection
        conn.execute(
            update(leaderboard_scores)
            .where(leaderboard_scores.c.user_id == "u3", leaderboard_scores.c.period == "all")
            .values(score=1)
        )
    problems = rewards.projector.check()
    assert len(problems) == 1 and "u3" in problems[0]
    assert rewards.projector.rebuild() > 0
    assert rewards.projector.check() == []
    with engine.begin() as conn:  # corrupt the bucket counts: check sees it, rebuild heals
        conn.execute(delete(leaderboard_buckets).where(leaderboard_buckets.c.period == "week"))
    problems = rewards.projector.check()
    assert problems and all("bucket" in p for p in problems)
    assert rewards.projector.rebuild() > 0
    assert rewards.projector.check() == []
    assert rewards.leaderboards.board("global", "all", me="u0") == board
    rewards.earnings.earn("after-rebuild", "u0", "course.completed")
    top = rewards.leaderboards.board("global", "all", limit=1).entries[0]
    assert (top.user_id, top.score) == ("u0", 110 * AZR)


def test_ties_are_broken_by_user_id(rewards: Rewards) -> None:
    for user in ("zed", "amy", "kim"):
        rewards.earnings.earn(f"e-{user}", user, "quiz.passed")
    board = rewards.leaderboards.board("global", "week", me="zed", limit=2)
    assert [(r.rank, r.user_id) for r in board.entries] == [(1, "amy"), (2, "kim")]
    assert board.me is not None and board.me.rank == 3


@pytest.mark.parametrize("scope", ["class:", "friends:U1", "local", "class:a b"])
def test_bad_scopes_are_refused(rewards: Rewards, scope: str) -> None:
    from ledger import InvalidRequest

    with pytest.raises(InvalidRequest):
        rewards.leaderboards.board(scope)


def test_user_accounts_only(rewards: Rewards) -> None:
    assert user_account("u1") == "user:u1:azr"


def test_postgresql_bucket_expression_equals_python(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-based rebuild computes buckets in SQL: it must agree with bucket_of."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the SQL bucket expression is PostgreSQL's")
    scores = [1, 9, 10, 45, 99, 100, 101, 999, 1000, 1001, 12345, 5 * AZR, 10 * AZR - 1]
    scores += [10 * AZR, 123456 * AZR + 7, 10**77 - 1]
    for digits in (1, 2, 3, 4):
        monkeypatch.setattr(lb, "BUCKET_DIGITS", digits)
        query = text(f"SELECT {lb.pg_bucket_sql('CAST(:v AS NUMERIC(78, 0))')}")
        with engine.connect() as conn:
            got = [conn.execute(query, {"v": str(v)}).scalar_one() for v in scores]
        assert got == [lb.bucket_of(v) for v in scores], digits


def test_ranks_inside_one_bucket(rewards: Rewards, monkeypatch: pytest.MonkeyPatch) -> None:
    """With one significant digit, 10-19 AZR share a bucket: ranks there come from the
    count inside it (higher scores, then ties by user id), plus the buckets above."""
    monkeypatch.setattr(lb, "BUCKET_DIGITS", 1)
    plan = {
        "a": ["quiz.passed", "streak.daily"],  # 12
        "b": ["quiz.passed"],  # 10
        "c": ["quiz.passed", "lesson.completed"],  # 15
        "d": ["quiz.passed", "lesson.completed"],  # 15
        "e": ["course.completed"],  # 100: a bucket above
    }
    for user, events in plan.items():
        for i, event in enumerate(events):
            rewards.earnings.earn(f"{user}-{i}", user, event)
    assert lb.bucket_of(10 * AZR) == lb.bucket_of(15 * AZR) < lb.bucket_of(100 * AZR)
    expected = {"e": 1, "c": 2, "d": 3, "a": 4, "b": 5}
    for me, rank in expected.items():
        board = rewards.leaderboards.board("global", "all", me=me, limit=1)
        assert board.me is not None and board.me.rank == rank, me
    assert rewards.projector.check() == []
