"""Billing periods and proration: pure arithmetic on instants and integer cents.

A period is one month: from a start to the same day and time next month, clamped to the
month's last day. The day is the subscription's *anchor* (the day of its first period), so
a subscription started on 31 January renews on 28 (29) February, then 31 March again.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from ledger import InvalidRequest

MICROSECOND = timedelta(microseconds=1)
MAX_YEAR = 9999


def add_month(start: datetime, anchor_day: int) -> datetime:
    """The instant one month after ``start``, on ``anchor_day`` clamped to the month's end.

    Preconditions: ``start`` is timezone-aware; ``1 <= anchor_day <= 31``.
    """
    assert start.tzinfo is not None, "periods are computed on aware instants"
    assert 1 <= anchor_day <= 31, anchor_day
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    if year > MAX_YEAR:
        raise InvalidRequest(f"a period starting {start.date()} would end after year {MAX_YEAR}")
    last_day = calendar.monthrange(year, month)[1]
    return start.replace(year=year, month=month, day=min(anchor_day, last_day))


def round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, ties to even."""
    assert denominator > 0, denominator
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def proration(
    old_price: int, new_price: int, now: datetime, period_start: datetime, period_end: datetime
) -> int:
    """Cents due now for moving from ``old_price`` to ``new_price`` with the rest of the
    period left: ``round_half_even((new - old) * remaining_s / period_s)``.

    Preconditions: ``new_price >= old_price`` (downgrades wait for the period's end) and
    ``period_start <= now < period_end``. Exact: integer microseconds, no floats.
    """
    assert new_price >= old_price, (old_price, new_price)
    assert period_start <= now < period_end, (period_start, now, period_end)
    remaining = _micros(period_end - now)
    length = _micros(period_end - period_start)
    return round_half_even((new_price - old_price) * remaining, length)
