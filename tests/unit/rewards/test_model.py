"""Pure rules of the rewards domain: windows, kinds, ranking, encodings, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import InvalidRequest
from monetization.rewards.errors import InvalidRedemption
from monetization.rewards.fulfilment import FULFILLERS
from monetization.rewards.leaderboard import Scope, windows_of
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
