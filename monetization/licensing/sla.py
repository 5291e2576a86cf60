"""Support SLA targets by tier and priority, as data, and the clock they run on.

First-response and resolution targets, in hours of the tier's coverage:

==============  ==============  ======  ======  ======  ======
tier            coverage        urgent  high    normal  low
==============  ==============  ======  ======  ======  ======
starter         business hours  4 / 24  8 / 40  16/80   24/120
professional    business hours  2 / 16  4 / 24  8 / 40  16/80
enterprise      24x7            1 / 8   2 / 24  4 / 48  8 / 72
custom          24x7            1 / 4   2 / 12  4 / 24  8 / 48
==============  ==============  ======  ======  ======  ======

Business hours are Monday to Friday, 09:00-17:00 UTC (no holidays); 24x7 counts every
hour. An organization without an active license is served on the starter targets. The
clock does not pause while a ticket waits on the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from ledger import InvalidTime


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Coverage(StrEnum):
    BUSINESS_HOURS = "business_hours"
    ALWAYS = "24x7"


@dataclass(frozen=True, slots=True)
class Target:
    first_response_h: int
    resolution_h: int


_U, _H, _N, _L = Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW
SLA_TARGETS: dict[str, tuple[Coverage, dict[Priority, Target]]] = {
    "starter": (Coverage.BUSINESS_HOURS,
                {_U: Target(4, 24), _H: Target(8, 40), _N: Target(16, 80), _L: Target(24, 120)}),
    "professional": (Coverage.BUSINESS_HOURS,
                     {_U: Target(2, 16), _H: Target(4, 24), _N: Target(8, 40), _L: Target(16, 80)}),
    "enterprise": (Coverage.ALWAYS,
                   {_U: Target(1, 8), _H: Target(2, 24), _N: Target(4, 48), _L: Target(8, 72)}),
    "custom": (Coverage.ALWAYS,
               {_U: Target(1, 4), _H: Target(2, 12), _N: Target(4, 24), _L: Target(8, 48)}),
}  # fmt: skip
DEFAULT_TIER = "starter"
BUSINESS_OPEN = time(9)
BUSINESS_CLOSE = time(17)
WEEKDAYS = range(5)  # Monday..Friday
BUSINESS_DAYS_MAX = 400  # a bound on the walk (the longest target is 120 h: 15 days)


def _on(day: datetime, clock: time) -> datetime:
    return day.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)


def _opening(at: datetime) -> datetime:
    """``at`` if within business hours, else the next opening."""
    day = at
    for _ in range(8):
        opens, closes = _on(day, BUSINESS_OPEN), _on(day, BUSINESS_CLOSE)
        if day.weekday() in WEEKDAYS and at < closes:
            return max(at, opens)
        day = opens + timedelta(days=1)
        at = day
    raise AssertionError("a week always has a business day")


def add_business_hours(start: datetime, hours: int) -> datetime:
    """``start`` plus ``hours`` of business hours (Mon-Fri 09:00-17:00 in ``start``'s zone,
    UTC for the service). Precondition: ``hours >= 0``."""
    assert hours >= 0, hours
    remaining = timedelta(hours=hours)
    at = _opening(start)
    for _ in range(BUSINESS_DAYS_MAX):
        closes = _on(at, BUSINESS_CLOSE)
        if remaining <= closes - at:
            return at + remaining
        remaining -= closes - at
        at = _opening(closes + timedelta(minutes=1))
    raise InvalidTime(f"{hours} business hours is beyond the bound of the SLA walk")


def targets(tier: str, priority: Priority) -> tuple[Coverage, Target]:
    coverage, table = SLA_TARGETS.get(tier, SLA_TARGETS[DEFAULT_TIER])
    return coverage, table[priority]


def due_times(tier: str, priority: Priority, opened_at: datetime) -> tuple[datetime, datetime]:
    """(first response due, resolution due) of a ticket opened at ``opened_at``."""
    coverage, target = targets(tier, priority)
    try:
        if coverage is Coverage.ALWAYS:
            return (opened_at + timedelta(hours=target.first_response_h),
                    opened_at + timedelta(hours=target.resolution_h))  # fmt: skip
        return (add_business_hours(opened_at, target.first_response_h),
                add_business_hours(opened_at, target.resolution_h))  # fmt: skip
    except OverflowError:
        raise InvalidTime("the SLA targets would fall after year 9999") from None
