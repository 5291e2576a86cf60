"""Deliveries to a real local receiver: signed, in seq order, retried, given up, replayed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Mapping
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from ledger import HoldAction, Ledger, NewEntry, Posting
from monetization.webhooks import (
    DeliveryStatus,
    Sent,
    StaticResolver,
    Target,
    WebhookNotFound,
    Webhooks,
    WebhooksConfig,
    event_json,
    verify,
)
from tests.integration.billing.conftest import Clock
from tests.integration.webhooks.conftest import LAX, make_webhooks, post
from tests.integration.webhooks.receiver import Receiver


def drain(webhooks: Webhooks, rounds: int = 20) -> None:
    for _ in range(rounds):
        if webhooks.deliver().endpoints == 0:
            return


def bodies(receiver: Receiver, path: str = "/hook") -> list[dict[str, object]]:
    return [json.loads(r.body) for r in receiver.at(path)]


def test_a_delivery_is_the_event_signed_with_the_endpoints_secret(
    webhooks: Webhooks, book: Ledger, receiver: Receiver, clock: Clock
) -> None:
    endpoint, secret = webhooks.endpoints.create("key:a", receiver.url())
    [seq] = post(book, "purchase.completed", 999)
    drain(webhooks)
    [got] = receiver.at("/hook")
    assert verify(secret, got.body, got.headers["Azora-Signature"], clock().timestamp()) > 0
    entry = book.events(seq - 1, 1)[0]
    assert json.loads(got.body) == event_json(entry)
    assert json.loads(got.body)["postings"][0]["amount"] == "9.99"
    assert got.headers["Azora-Event-Seq"] == str(seq)
    assert got.headers["Content-Type"] == "application/json"
    [delivery], _ = webhooks.log.list(endpoint.id)
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert got.headers["Azora-Delivery"] == delivery.id
    detail = webhooks.log.get(endpoint.id, delivery.id)
    assert [(a.number, a.status_code) for a in detail.log] == [(1, 200)]


def test_an_endpoint_receives_only_events_after_it_was_registered(
    webhooks: Webhooks, book: Ledger, receiver: Receiver
) -> None:
    post(book, "before", 100, n=3)
    webhooks.endpoints.create("key:a", receiver.url())
    after = post(book, "after", 100, n=2)
    drain(webhooks)
    assert [b["seq"] for b in bodies(receiver)] == after


def test_kind_filters_select_exact_kinds_and_prefixes(
    webhooks: Webhooks, book: Ledger, receiver: Receiver
) -> None:
    webhooks.endpoints.create("key:a", receiver.url("/rewards"), ["reward.*"])
    webhooks.endpoints.create("key:a", receiver.url("/one"), ["purchase.completed"])
    webhooks.endpoints.create("key:a", receiver.url("/all"))
    post(book, "reward.earned", 1)
    post(book, "purchase.completed", 2)
    post(book, "rewarded", 3)  # not under reward.
    post(book, "reward.spent.extra", 4)
    drain(webhooks)
    assert [b["kind"] for b in bodies(receiver, "/rewards")] == [
        "reward.earned",
        "reward.spent.extra",
    ]
    assert [b["kind"] for b in bodies(receiver, "/one")] == ["purchase.completed"]
    assert len(bodies(receiver, "/all")) == 4


def test_holds_and_their_resolutions_are_events_of_their_own(
    webhooks: Webhooks, book: Ledger, receiver: Receiver
) -> None:
    webhooks.endpoints.create("key:a", receiver.url())
    postings = (Posting("world:card", "user:alice:usd", "USD", 500),)
    hold = book.post_hold(NewEntry("order.hold", postings, pending=True), principal="t")
    book.resolve_hold(hold.entry.id, HoldAction.POST)
    drain(webhooks)
    got = bodies(receiver)
    assert [b["type"] for b in got] == ["hold.created", "hold.posted"]
    assert got[1]["hold_id"] == hold.entry.id


def test_many_events_arrive_once_each_in_seq_order(
    webhooks: Webhooks, book: Ledger, receiver: Receiver
) -> None:
    webhooks.endpoints.create("key:a", receiver.url())
    seqs = post(book, "transfer", 1, n=130)  # more than one round's sends_per_claim
    drain(webhooks)
    assert [b["seq"] for b in bodies(receiver)] == seqs


def test_a_failing_receiver_is_retried_with_backoff_and_order_holds_when_it_recovers(
    webhooks: Webhooks, book: Ledger, receiver: Receiver, clock: Clock
) -> None:
    receiver.answer = lambda _path, n: 503 if n <= 3 else 200
    endpoint, _ = webhooks.endpoints.create("key:a", receiver.url())
    first, second = post(book, "transfer", 1, n=2)
    waits = []
    for _ in range(3):
        report = webhooks.deliver()
        assert report.failed_attempts == 1 and report.delivered == 0
        assert webhooks.deliver().endpoints == 0  # backing off: nothing is due
        due = webhooks.endpoints.get(endpoint.id).next_attempt_at
        waits.append((due - clock()).total_seconds())
        clock.set(due)
    assert waits == [10.0, 20.0, 40.0]  # retry_base_s doubling
    drain(webhooks)
    seqs = [r["seq"] for r in bodies(receiver)]
    assert seqs == [first, first, first, first, second]  # never the second before the first
    deliveries, _ = webhooks.log.list(endpoint.id)
    by_seq = {d.seq: d for d in deliveries}
    assert by_seq[first].status is DeliveryStatus.DELIVERED and by_seq[first].attempts == 4
    detail = webhooks.log.get(endpoint.id, by_seq[first].id)
    assert [a.status_code for a in detail.log] == [503, 503, 503, 200]
    assert webhooks.endpoints.get(endpoint.id).failures == 0


def test_a_receiver_that_is_down_is_logged_as_an_error(
    webhooks: Webhooks, book: Ledger, receiver: Receiver
) -> None:
    # A port bound but not listening refuses connections, and no other test can take it
    # meanwhile (a closed receiver's port could be reused by a parallel test's receiver).
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        url = receiver.url().replace(f":{receiver.port}/", f":{held.getsockname()[1]}/", 1)
        endpoint, _ = webhooks.endpoints.create("key:a", url)
        post(book, "transfer", 1)
        assert webhooks.deliver().failed_attempts == 1
    [delivery], _ = webhooks.log.list(endpoint.id)
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_status_code is None and "Connect" in (delivery.last_error or "")


def test_deliveries_are_given_up_24_hours_after_their_event_then_new_ones_flow(
    webhooks: Webhooks, book: Ledger, receiver: Receiver, clock: Clock
) -> None:
    failing = True
    receiver.answer = lambda _path, _n: 500 if failing else 200
    endpoint, _ = webhooks.endpoints.create("key:a", receiver.url())
    old = post(book, "transfer", 1, n=3)
    start, attempts = clock(), 0
    for _ in range(1000):
        report = webhooks.deliver()
        attempts += report.failed_attempts
        if report.given_up:
            break
        clock.set(webhooks.endpoints.get(endpoint.id).next_attempt_at)
    assert timedelta(hours=24) <= clock() - start <= timedelta(hours=24, minutes=11)
    deliveries, _ = webhooks.log.list(endpoint.id)
    assert {d.status for d in deliveries} == {DeliveryStatus.FAILED}
    # 10 s doubling to the 600 s cap: ~150 tries of the first delivery in 24 h, none of the rest
    assert 100 < attempts < 200
    assert {b["seq"] for b in bodies(receiver)} == {old[0]}
    failing = False
    fresh = post(book, "transfer", 1)
    drain(webhooks)
    assert bodies(receiver)[-1]["seq"] == old[0]  # still backing off until the next try
    clock.set(webhooks.endpoints.get(endpoint.id).next_attempt_at)
    drain(webhooks)
    assert bodies(receiver)[-1]["seq"] == fresh[0]


def test_a_replay_sends_a_delivery_again_before_newer_events(
    webhooks: Webhooks, book: Ledger, receiver: Receiver
) -> None:
    endpoint, _ = webhooks.endpoints.create("key:a", receiver.url())
    first, _second = post(book, "transfer", 1, n=2)
    drain(webhooks)
    deliveries, _ = webhooks.log.list(endpoint.id)
    target = next(d for d in deliveries if d.seq == first)
    replayed = webhooks.log.replay(endpoint.id, target.id)
    assert replayed.status is DeliveryStatus.PENDING
    third = post(book, "transfer", 1)[0]
    drain(webhooks)
    assert [b["seq"] for b in bodies(receiver)][-2:] == [first, third]
    assert webhooks.log.get(endpoint.id, target.id).attempts == 2


def test_a_deleted_endpoint_receives_nothing_more(
    webhooks: Webhooks, book: Ledger, receiver: Receiver
) -> None:
    endpoint, _ = webhooks.endpoints.create("key:a", receiver.url())
    post(book, "transfer", 1)
    drain(webhooks)
    webhooks.endpoints.delete(endpoint.id)
    post(book, "transfer", 1)
    drain(webhooks)
    assert len(receiver.at("/hook")) == 1


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[Target] = []

    def send(self, target: Target, body: bytes, headers: Mapping[str, str]) -> Sent:
        self.sent.append(target)
        return Sent(200, None, 1)


def test_a_name_rebound_to_a_private_address_after_registration_is_refused_at_delivery(
    engine: Engine, book: Ledger, clock: Clock
) -> None:
    resolver = StaticResolver({"hooks.example.com": ["93.184.216.34"]})
    sender = RecordingSender()
    strict = WebhooksConfig(strict=True)
    webhooks = make_webhooks(engine, book, clock, strict, resolver, sender=sender)
    endpoint, _ = webhooks.endpoints.create("key:a", "https://hooks.example.com/in")
    post(book, "transfer", 1)
    resolver.set("hooks.example.com", "169.254.169.254")
    assert webhooks.deliver().failed_attempts == 1
    assert sender.sent == []  # nothing left the process
    [delivery], _ = webhooks.log.list(endpoint.id)
    assert (delivery.last_error or "").startswith("refused:")
    assert "169.254.169.254" in (delivery.last_error or "")
    resolver.set("hooks.example.com", "93.184.216.34")
    clock.advance(seconds=11)
    assert webhooks.deliver().delivered == 1
    assert [t.addresses for t in sender.sent] == [("93.184.216.34",)]  # the checked address


def test_the_lease_keeps_a_second_worker_off_a_claimed_endpoint(
    webhooks: Webhooks, engine: Engine, book: Ledger, clock: Clock, receiver: Receiver
) -> None:
    webhooks.endpoints.create("key:a", receiver.url())
    post(book, "transfer", 1)
    claim = webhooks.deliverer.claim(book.head_seq())
    assert claim is not None
    assert webhooks.deliverer.claim(book.head_seq()) is None  # held
    clock.advance(seconds=LAX.lease_s + 1)  # the holder died: its lease runs out
    taken = webhooks.deliverer.claim(book.head_seq())
    assert taken is not None and taken.token != claim.token
    report = webhooks.deliverer.serve(claim, book.head_seq())  # the stale holder wakes up
    assert report.delivered == 0 and receiver.at("/hook") == []
    assert webhooks.deliverer.serve(taken, book.head_seq()).delivered == 1


@pytest.mark.parametrize("limit", [0, 501, -1])
def test_log_pages_are_bounded(webhooks: Webhooks, receiver: Receiver, limit: int) -> None:
    endpoint, _ = webhooks.endpoints.create("key:a", receiver.url())
    from ledger import InvalidRequest

    with pytest.raises(InvalidRequest):
        webhooks.log.list(endpoint.id, limit=limit)


def test_racing_deletes_of_one_endpoint_answer_once_deleted_then_not_found(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    endpoint, _ = webhooks.endpoints.create("key:a", receiver.url())
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def delete() -> None:
        start.wait()
        try:
            webhooks.endpoints.delete(endpoint.id, "key:a")
            outcomes.append("deleted")
        except WebhookNotFound:
            outcomes.append("not-found")

    threads = [threading.Thread(target=delete) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["deleted"] + ["not-found"] * 7
