"""Pure rules of the rewards domain: windows, kinds, ranking, encodings, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import InvalidRequest
from monetization.rewards import scores as lb
from monetization.rewards.errors import InvalidRedemption
from monetization.rewards.fulfilment import FULFILLERS
from monetization.rewards.leaderboard import Scope
from monetization.rewards.model import (
    CatalogItem,
    ItemType,
    Ranked,
    Window,
    adjusted_kind,
    counts_as_earned,
    earned_kind,
    rank_scores,
    user_of_account,
    utc_day,
    window_start,
)
from monetization.rewards.scores import windows_of
from monetization.rewards.tables import decode_sortable, encode_sortable

ADDRESS = {"name": "A", "line1": "1 St", "city": "X", "postal_code": "1", "country": "NG"}


def test_windows_are_utc_iso_weeks_and_calendar_months() -> None:
    sunday_late = datetime(2030, 6, 16, 23, 59, tzinfo=UTC)
    assert window_start(Window.WEEK, sunday_late) == date(2030, 6, 10)
    assert window_start(Window.MONTH, sunday_late) == date(2030, 6, 1)
    assert window_start(Window.ALL, sunday_late) == date(1970, 1, 1)
    assert windows_of(sunday_late) == [
        ("all", "1970-01-01"),
        ("week", "2030-06-10"),
        ("month", "2030-06-01"),
    ]
    since, until = utc_day(datetime(2030, 6, 16, 23, 59, 59, 999999, tzinfo=UTC))
    assert (since.day, until.day, until.hour) == (16, 17, 0)


def test_kinds() -> None:
    assert earned_kind("lesson.completed") == "reward.earned.lesson.completed"
    assert adjusted_kind("reward.earned.quiz.passed") == "reward.adjusted.earned"
    assert adjusted_kind("reward.spent") == "reward.adjusted.spent"
    assert counts_as_earned("reward.earned.x") and counts_as_earned("reward.adjusted.earned")
    assert not counts_as_earned("reward.spent") and not counts_as_earned("reward.earnedx")
    assert user_of_account("user:42:azr") == "42"
    assert user_of_account("user:42:usd") is None and user_of_account("platform:azr:spent") is None
    with pytest.raises(InvalidRequest):
        earned_kind("Lesson")
    with pytest.raises(InvalidRequest):
        earned_kind("a" * 49)


def test_ranking_breaks_ties_by_user_id() -> None:
    assert rank_scores({"b": 5, "a": 5, "c": 9}) == [
        Ranked(1, "c", 9),
        Ranked(2, "a", 5),
        Ranked(3, "b", 5),
    ]


@given(st.lists(st.integers(-(10**78), 10**78), min_size=2, max_size=20))
def test_sortable_encoding_sorts_like_the_numbers(values: list[int]) -> None:
    encoded = [encode_sortable(v) for v in values]
    assert [decode_sortable(e) for e in encoded] == values
    assert sorted(encoded) == [encode_sortable(v) for v in sorted(values)]


@pytest.mark.parametrize(
    ("text", "kind", "ident"),
    [
        ("global", "global", None),
        ("class:py-101", "class", "py-101"),
        ("friends:42", "friends", "42"),
    ],
)
def test_scopes(text: str, kind: str, ident: str | None) -> None:
    assert Scope.parse(text) == Scope(kind, ident)
    assert str(Scope.parse(text)) == text


def test_fulfillers_validate_what_each_type_needs() -> None:
    tee = CatalogItem("tee", "T", ItemType.MERCHANDISE, 1)
    unlock = CatalogItem("pro", "P", ItemType.FEATURE_UNLOCK, 1)
    withdraw = CatalogItem("w", "W", ItemType.ONCHAIN_WITHDRAWAL, 1)
    FULFILLERS[ItemType.MERCHANDISE].validate(tee, ADDRESS, None)
    FULFILLERS[ItemType.FEATURE_UNLOCK].validate(unlock, None, None)
    FULFILLERS[ItemType.ONCHAIN_WITHDRAWAL].validate(withdraw, None, "0x" + "ab" * 20)
    refused = [
        (tee, None, None),
        (tee, {**ADDRESS, "country": " "}, None),
        (tee, {**ADDRESS, "planet": "Mars"}, None),
        (tee, ADDRESS, "0x" + "ab" * 20),
        (unlock, ADDRESS, None),
        (withdraw, None, None),
        (withdraw, None, "0xabc"),
        (withdraw, None, "0x" + "00" * 20),
    ]
    for item, address, eth in refused:
        with pytest.raises(InvalidRedemption):
            FULFILLERS[item.type].validate(item, address, eth)
    assert not FULFILLERS[ItemType.MERCHANDISE].automatic
    assert FULFILLERS[ItemType.ONCHAIN_WITHDRAWAL].automatic


# --- leaderboard buckets ---------------------------------------------------------------------


@pytest.mark.parametrize("digits", [1, 2, 3])
@given(a=st.integers(1, 10**40), b=st.integers(1, 10**40))
def test_buckets_are_monotone_and_bounded(digits: int, a: int, b: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lb, "BUCKET_DIGITS", digits)
        low, high = lb.bucket_bounds(lb.bucket_of(a))
        assert low <= a < high  # the bounds hold exactly this bucket's scores
        assert lb.bucket_of(low) == lb.bucket_of(high - 1) == lb.bucket_of(a)
        assert low == 1 or lb.bucket_of(low - 1) < lb.bucket_of(a)
        assert lb.bucket_of(high) > lb.bucket_of(a)
        if a < b:
            assert lb.bucket_of(a) <= lb.bucket_of(b)


def test_bucket_examples() -> None:
    assert lb.BUCKET_DIGITS == 3
    assert lb.bucket_of(5 * 10**18) == 19_500  # 19 digits, "500"
    assert lb.bucket_of(45) == 2_450 and lb.bucket_bounds(2_450) == (45, 46)
    assert lb.bucket_bounds(lb.bucket_of(123_456)) == (123_000, 124_000)
    assert lb.bucket_bounds(lb.bucket_of(999_999)) == (999_000, 1_000_000)
