"""Whatever a receiver answers, and whenever, an endpoint sees its events in seq order, each
acknowledged once, and every event is delivered or given up (Hypothesis over failure
schedules, a real receiver, a real database)."""

from __future__ import annotations

import json
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger
from monetization.webhooks import DeliveryStatus, Webhooks
from tests.integration.billing.conftest import Clock
from tests.integration.webhooks.conftest import post
from tests.integration.webhooks.receiver import Receiver

STATUSES = st.sampled_from([200, 201, 204, 301, 400, 404, 500, 503])


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=st.lists(STATUSES, min_size=1, max_size=30),
    events=st.integers(1, 8),
    waits=st.lists(st.integers(0, 4000), min_size=1, max_size=30),
)
def test_any_failure_schedule_keeps_order_and_loses_nothing(
    webhooks: Webhooks,
    book: Ledger,
    receiver: Receiver,
    clock: Clock,
    answers: list[int],
    events: int,
    waits: list[int],
) -> None:
    path = f"/p{uuid.uuid4().hex[:8]}"
    receiver.answer = lambda p, n: answers[n - 1] if p == path and n <= len(answers) else 200
    endpoint, _ = webhooks.endpoints.create("key:prop", receiver.url(path))
    seqs = post(book, "transfer", 1, n=events)
    for wait_s in waits:
        webhooks.deliver()
        clock.advance(seconds=wait_s)
    for _ in range(len(answers) + events + 5):  # then the receiver answers 200: catch up
        webhooks.deliver()
        clock.set(max(clock(), webhooks.endpoints.get(endpoint.id).next_attempt_at))
    got = [json.loads(r.body)["seq"] for r in receiver.at(path)]
    acknowledged = [
        json.loads(r.body)["seq"]
        for r, code in zip(receiver.at(path), answers + [200] * len(got), strict=False)
        if 200 <= code < 300
    ]
    assert got == sorted(got)  # never a later event before an earlier one
    assert len(acknowledged) == len(set(acknowledged))  # acknowledged once at most
    deliveries, _ = webhooks.log.list(endpoint.id, limit=500)
    by_seq = {d.seq: d.status for d in deliveries}
    assert sorted(by_seq) == seqs
    for seq, status in by_seq.items():
        if status is DeliveryStatus.DELIVERED:
            assert seq in acknowledged
        else:
            assert status is DeliveryStatus.FAILED and seq not in acknowledged
    webhooks.endpoints.delete(endpoint.id)
