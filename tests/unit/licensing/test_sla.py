"""SLA targets as data and the business-hours clock, checked against a reference that
walks minute by minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monetization.licensing.sla import (
    SLA_TARGETS,
    Coverage,
    Priority,
    add_business_hours,
    due_times,
)

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday


def in_business_hours(at: datetime) -> bool:
    return at.weekday() < 5 and 9 <= at.hour < 17


def reference(start: datetime, hours: int) -> datetime:
    """Minute by minute: the first instant after ``hours * 60`` business minutes."""
    at = start.replace(second=0, microsecond=0)
    assert at == start, "the reference works on whole minutes"
    remaining = hours * 60
    while remaining > 0:
        if in_business_hours(at):
            remaining -= 1
        at += timedelta(minutes=1)
    return at


def test_every_tier_and_priority_has_targets_and_urgent_is_fastest() -> None:
    assert set(SLA_TARGETS) == {"starter", "professional", "enterprise", "custom"}
    for coverage, table in SLA_TARGETS.values():
        assert set(table) == set(Priority) and isinstance(coverage, Coverage)
        order = [table[p] for p in (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)]
        assert [t.first_response_h for t in order] == sorted(t.first_response_h for t in order)
        assert all(t.first_response_h < t.resolution_h for t in order)
    enterprise = SLA_TARGETS["enterprise"]
    assert enterprise[0] is Coverage.ALWAYS
    assert (enterprise[1][Priority.URGENT].first_response_h,
            enterprise[1][Priority.URGENT].resolution_h) == (1, 8)  # fmt: skip


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (MONDAY.replace(hour=10), 2, MONDAY.replace(hour=12)),
        (MONDAY.replace(hour=16), 2, MONDAY.replace(day=8, hour=10)),  # over the night
        (MONDAY.replace(hour=7), 1, MONDAY.replace(hour=10)),  # before opening
        (MONDAY.replace(day=11, hour=16), 4, MONDAY.replace(day=14, hour=12)),  # Fri -> Mon
        (MONDAY.replace(day=12, hour=11), 1, MONDAY.replace(day=14, hour=10)),  # Saturday
        (MONDAY.replace(hour=17), 8, MONDAY.replace(day=8, hour=17)),  # at closing
    ],
)
def test_business_hours_examples(start: datetime, hours: int, due: datetime) -> None:
    assert add_business_hours(start, hours) == due


@settings(max_examples=80, deadline=None)
@given(minutes=st.integers(0, 60 * 24 * 21), hours=st.integers(1, 40))
def test_business_hours_match_the_minute_walk(minutes: int, hours: int) -> None:
    start = MONDAY + timedelta(minutes=minutes)
    assert add_business_hours(start, hours) == reference(start, hours)


def test_due_times_follow_the_tier_coverage() -> None:
    friday_evening = MONDAY.replace(day=11, hour=20)
    first, resolution = due_times("enterprise", Priority.URGENT, friday_evening)
    assert (first, resolution) == (friday_evening + timedelta(hours=1),
                                   friday_evening + timedelta(hours=8))  # fmt: skip
    first, _ = due_times("professional", Priority.URGENT, friday_evening)
    assert first == MONDAY.replace(day=14, hour=11)  # Monday 09:00 + 2 business hours
    assert due_times("unknown", Priority.LOW, MONDAY) == due_times("starter", Priority.LOW, MONDAY)
