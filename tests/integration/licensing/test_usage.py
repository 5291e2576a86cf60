"""Usage events and limits on both back ends; concurrent events never pass a limit."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import IdempotencyConflict, InvalidRequest
from monetization.licensing import Licensing, Limits, OrgNotFound, UsageLimitExceeded
from tests.integration.billing.conftest import Clock
from tests.integration.licensing.conftest import org_with_license

pytestmark = pytest.mark.integration


def totals(licensing: Licensing, month: str) -> dict[str, tuple[int, int, int | None]]:
    return {
        t.metric.value: (t.total, t.events, t.limit) for t in licensing.usage.month("acme", month)
    }


def test_events_count_once_and_limits_refuse_without_recording(licensing: Licensing) -> None:
    org_with_license(licensing, limits=Limits(api_calls_per_month=100, active_users=3))
    first = licensing.usage.record("acme", "e-1", "api_calls", 60)
    assert (first.month, first.month_total, first.limit, first.replayed) == (
        "2030-01",
        60,
        100,
        False,
    )
    again = licensing.usage.record("acme", "e-1", "api_calls", 60)
    assert again.replayed and again.month_total == 60
    with pytest.raises(IdempotencyConflict):
        licensing.usage.record("acme", "e-1", "api_calls", 61)
    with pytest.raises(UsageLimitExceeded) as refused:
        licensing.usage.record("acme", "e-2", "api_calls", 41)
    assert (refused.value.month_total, refused.value.limit) == (60, 100)
    # The refused event id is not consumed: a smaller event under it is accepted.
    assert licensing.usage.record("acme", "e-2", "api_calls", 40).month_total == 100
    assert totals(licensing, "2030-01")["api_calls"] == (100, 2, 100)
    assert totals(licensing, "2030-01")["storage_bytes"] == (0, 0, None)  # unlimited


def test_months_reset_counts_but_carry_storage(licensing: Licensing, clock: Clock) -> None:
    org_with_license(licensing, limits=Limits(10, 1000, None))
    licensing.usage.record("acme", "a", "api_calls", 10)
    licensing.usage.record("acme", "s1", "storage_bytes", 900)
    clock.advance(days=31)  # February
    assert licensing.usage.record("acme", "b", "api_calls", 10).month_total == 10
    with pytest.raises(UsageLimitExceeded):
        licensing.usage.record("acme", "s2", "storage_bytes", 101)  # the level is carried
    assert licensing.usage.record("acme", "s3", "storage_bytes", -400).month_total == 500
    assert licensing.usage.record("acme", "s4", "storage_bytes", 500).month_total == 1000
    assert totals(licensing, "2030-01")["storage_bytes"][0] == 900
    assert totals(licensing, "2030-02")["storage_bytes"][0] == 1000
    assert totals(licensing, "2030-03")["storage_bytes"][0] == 1000  # no events: still stored
    with pytest.raises(InvalidRequest):
        licensing.usage.record("acme", "s5", "storage_bytes", -2000)


HOSTILE = [
    ("", "api_calls", 1), ("x\x00", "api_calls", 1), ("é", "api_calls", 1), ("e", "cpu", 1),
    ("e", "api_calls", 0), ("e", "api_calls", -1), ("e", "api_calls", 2**63),
    ("e", "api_calls", True), ("e", "api_calls", 1.0), ("e\ud800", "api_calls", 1),
]  # fmt: skip


def test_hostile_events_are_refused(licensing: Licensing) -> None:
    org_with_license(licensing)
    for event_id, metric, quantity in HOSTILE:
        with pytest.raises(InvalidRequest):
            licensing.usage.record("acme", event_id, metric, quantity)  # type: ignore[arg-type]
    assert totals(licensing, "2030-01")["api_calls"] == (0, 0, None)


def test_no_license_means_no_usage(licensing: Licensing) -> None:
    licensing.orgs.create("acme", "Acme", "olga")
    with pytest.raises(UsageLimitExceeded):
        licensing.usage.record("acme", "e", "active_users", 1)
    with pytest.raises(OrgNotFound):
        licensing.usage.record("nobody", "e", "api_calls", 1)


def test_concurrent_events_never_pass_the_limit(licensing: Licensing) -> None:
    org_with_license(licensing, limits=Limits(api_calls_per_month=50))
    outcomes: Counter[str] = Counter()
    barrier = threading.Barrier(12)

    def send(worker: int) -> None:
        barrier.wait()
        recorded = []
        for n in range(5):
            try:
                licensing.usage.record("acme", f"w{worker}-{n}", "api_calls", 3)
                outcomes["recorded"] += 1
                recorded.append(f"w{worker}-{n}")
            except UsageLimitExceeded:
                outcomes["refused"] += 1
        for event_id in recorded:  # the same events again: each counted once
            assert licensing.usage.record("acme", event_id, "api_calls", 3).replayed

    threads = [threading.Thread(target=send, args=(w,)) for w in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes["recorded"] == 16 and outcomes["refused"] == 60 - 16  # 16 * 3 = 48 <= 50
    assert totals(licensing, "2030-01")["api_calls"] == (48, 16, 50)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=st.lists(st.integers(-500, 800).filter(lambda q: q != 0), max_size=25))
def test_storage_level_is_the_running_sum_within_bounds(
    licensing: Licensing, events: list[int]
) -> None:
    if licensing.orgs.listed() == []:
        org_with_license(licensing, limits=Limits(storage_bytes=2000))
    start = totals(licensing, "2030-01")["storage_bytes"][0]
    level = start
    for quantity in events:
        after = level + quantity
        token = uuid.uuid4().hex
        if after < 0 or after > 2000:
            with pytest.raises((InvalidRequest, UsageLimitExceeded)):
                licensing.usage.record("acme", token, "storage_bytes", quantity)
        else:
            assert (
                licensing.usage.record("acme", token, "storage_bytes", quantity).month_total
                == after
            )
            level = after
    assert totals(licensing, "2030-01")["storage_bytes"][0] == level
