"""Billing periods and proration, against a reference in exact fractions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from monetization.billing.periods import add_month, proration, round_half_even


def test_a_month_is_the_same_day_next_month_clamped_to_its_end() -> None:
    jan31 = datetime(2031, 1, 31, 9, 30, tzinfo=UTC)
    feb = add_month(jan31, 31)
    assert feb == datetime(2031, 2, 28, 9, 30, tzinfo=UTC)
    # The anchor day comes back once the month is long enough again.
    assert add_month(feb, 31) == datetime(2031, 3, 31, 9, 30, tzinfo=UTC)
    assert add_month(datetime(2032, 1, 30, tzinfo=UTC), 30) == datetime(2032, 2, 29, tzinfo=UTC)
    assert add_month(datetime(2031, 12, 15, tzinfo=UTC), 15) == datetime(2032, 1, 15, tzinfo=UTC)


def _reference_half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**9))
def test_round_half_even_matches_the_reference(numerator: int, denominator: int) -> None:
    assert round_half_even(numerator, denominator) == _reference_half_even(
        Fraction(numerator, denominator)
    )


def test_ties_go_to_even() -> None:
    assert [round_half_even(n, 2) for n in (1, 3, 5, 7)] == [0, 2, 2, 4]


START = datetime(2030, 5, 17, 8, tzinfo=UTC)


@given(
    old=st.integers(0, 100_000),
    extra=st.integers(0, 100_000),
    day=st.sampled_from([28, 29, 30, 31]),
    elapsed_us=st.integers(0, 10**13),
)
def test_proration_is_the_formula_in_exact_arithmetic(
    old: int, extra: int, day: int, elapsed_us: int
) -> None:
    start = START.replace(day=day) if day <= 31 else START
    end = add_month(start, start.day)
    length = end - start
    now = start + min(timedelta(microseconds=elapsed_us), length - timedelta(microseconds=1))
    new = old + extra
    charged = proration(old, new, now, start, end)
    remaining = Fraction((end - now) // timedelta(microseconds=1))
    period = Fraction(length // timedelta(microseconds=1))
    assert charged == _reference_half_even((new - old) * remaining / period)
    assert 0 <= charged <= new - old


def test_no_period_ends_after_year_9999() -> None:
    import pytest

    from ledger import InvalidRequest

    assert add_month(datetime(9999, 11, 30, tzinfo=UTC), 30) == datetime(9999, 12, 30, tzinfo=UTC)
    with pytest.raises(InvalidRequest):
        add_month(datetime(9999, 12, 1, tzinfo=UTC), 1)
