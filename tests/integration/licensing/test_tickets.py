"""Support tickets and SLA breaches with a controllable clock, on both back ends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from ledger import InvalidRequest, NotFound
from monetization.licensing import (
    Licensing,
    Priority,
    Status,
    TicketChange,
    TicketStateConflict,
    Tier,
)
from monetization.licensing.tickets import SUPPORT
from tests.integration.billing.conftest import Clock
from tests.integration.licensing.conftest import START, org_with_license

pytestmark = pytest.mark.integration


def open_ticket(licensing: Licensing, priority: str = "urgent", org: str = "acme") -> str:
    return licensing.tickets.open(org, "Login fails", "Since 9:00\\nall users", priority,
                                  opened_by="user:olga").id  # fmt: skip


def answer(licensing: Licensing, ticket_id: str, org: str = "acme") -> None:
    licensing.tickets.comment(org, ticket_id, "Looking into it", author_kind=SUPPORT,
                              author_id="key:support")  # fmt: skip


def test_due_times_follow_tier_and_priority(licensing: Licensing) -> None:
    org_with_license(licensing)  # enterprise: 24x7, urgent 1 h / 8 h
    ticket = licensing.tickets.get("acme", open_ticket(licensing))
    assert ticket.tier == "enterprise" and ticket.status is Status.OPEN
    assert ticket.first_response_due_at == START + timedelta(hours=1)
    assert ticket.resolution_due_at == START + timedelta(hours=8)
    licensing.orgs.create("small", "Small", "sam")  # no license: starter, business hours
    small = licensing.tickets.get("small", open_ticket(licensing, "normal", "small"))
    assert small.tier == "starter"
    assert small.first_response_due_at == START + timedelta(days=2)  # 16 business hours


def test_breaches_are_flagged_once_by_the_check(licensing: Licensing, clock: Clock) -> None:
    org_with_license(licensing)
    late = open_ticket(licensing)
    on_time = open_ticket(licensing)
    answer(licensing, on_time)
    clock.advance(minutes=61)
    check = licensing.check_sla()
    assert (check.first_response, check.resolution) == (1, 0)
    assert licensing.check_sla() == type(check)(0, 0)  # once
    assert [t.id for t in licensing.tickets.of_org("acme", breached=True)] == [late]
    assert [t.id for t in licensing.tickets.of_org("acme", breached=False)] == [on_time]
    clock.advance(hours=8)
    assert licensing.check_sla().resolution == 2
    flagged = licensing.tickets.get("acme", late)
    assert flagged.first_response_breached and flagged.resolution_breached
    assert flagged.breached_at == START + timedelta(minutes=61)  # the first breach


def test_a_check_with_a_given_now(licensing: Licensing) -> None:
    org_with_license(licensing)
    open_ticket(licensing)
    assert licensing.check_sla(START + timedelta(minutes=30)).first_response == 0
    assert licensing.check_sla(START + timedelta(hours=9)).first_response == 1


def test_late_answers_and_resolutions_flag_at_once(licensing: Licensing, clock: Clock) -> None:
    org_with_license(licensing)
    ticket_id = open_ticket(licensing)
    licensing.tickets.comment("acme", ticket_id, "Any news?", author_kind="org",
                              author_id="user:olga")  # fmt: skip
    assert licensing.tickets.get("acme", ticket_id).first_response_at is None  # not support
    clock.advance(hours=2)
    answer(licensing, ticket_id)
    ticket = licensing.tickets.get("acme", ticket_id)
    assert ticket.first_response_at == clock() and ticket.first_response_breached
    answer(licensing, ticket_id)  # a second answer is not the first response
    assert licensing.tickets.get("acme", ticket_id).first_response_at == START + timedelta(hours=2)
    clock.advance(hours=7)
    done = licensing.tickets.change("acme", ticket_id, TicketChange(status=Status.RESOLVED))
    assert done.resolved_at == clock() and done.resolution_breached


def test_status_transitions_and_priority_changes(licensing: Licensing, clock: Clock) -> None:
    org_with_license(licensing, tier=Tier.PROFESSIONAL)
    ticket_id = open_ticket(licensing, "low")
    escalated = licensing.tickets.change("acme", ticket_id, TicketChange(priority=Priority.URGENT))
    assert escalated.first_response_due_at == START + timedelta(hours=2)
    change = licensing.tickets.change
    assert change("acme", ticket_id, TicketChange(status=Status.PENDING)).status is Status.PENDING
    resolved = change("acme", ticket_id, TicketChange(status=Status.RESOLVED))
    assert resolved.resolved_at == START
    reopened = change("acme", ticket_id, TicketChange(status=Status.OPEN))
    assert reopened.resolved_at is None
    change("acme", ticket_id, TicketChange(status=Status.CLOSED))
    with pytest.raises(TicketStateConflict):
        change("acme", ticket_id, TicketChange(status=Status.OPEN))
    with pytest.raises(TicketStateConflict):
        answer(licensing, ticket_id)
    assigned = change("acme", ticket_id, TicketChange(assignee_id="agent-7"))
    assert assigned.assignee_id == "agent-7"
    assert change("acme", ticket_id, TicketChange(unassign=True)).assignee_id is None
    with pytest.raises(NotFound):
        licensing.tickets.get("other", ticket_id)


def test_hostile_tickets_are_refused(licensing: Licensing) -> None:
    org_with_license(licensing)
    for subject, body, priority in (
        ("", "b", "low"),
        ("s\x00", "b", "low"),
        ("s", "b\ud800", "low"),
        ("s", "b", "critical"),
        ("s" * 201, "b", "low"),
    ):
        with pytest.raises(InvalidRequest):
            licensing.tickets.open("acme", subject, body, priority, opened_by="user:olga")
    assert licensing.tickets.of_org("acme") == []


def test_concurrent_first_answers_record_one_first_response(
    licensing: Licensing, clock: Clock
) -> None:
    org_with_license(licensing)
    ticket_id = open_ticket(licensing)
    moments = [START + timedelta(minutes=n) for n in range(1, 7)]

    def reply(n: int) -> None:
        licensing.tickets.comment("acme", ticket_id, f"answer {n}", author_kind=SUPPORT,
                                  author_id=f"key:agent{n}")  # fmt: skip

    threads = [threading.Thread(target=reply, args=(n,)) for n in range(6)]
    clock.set(moments[0])
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(licensing.tickets.comments("acme", ticket_id)) == 6
    assert licensing.tickets.get("acme", ticket_id).first_response_at == moments[0]


def test_the_monthly_report(licensing: Licensing, clock: Clock) -> None:
    org_with_license(licensing)
    met = open_ticket(licensing)
    missed = open_ticket(licensing)
    waiting = open_ticket(licensing, "low")
    answer(licensing, met)
    licensing.tickets.change("acme", met, TicketChange(status=Status.RESOLVED))
    clock.advance(hours=2)
    answer(licensing, waiting)  # low: 8 h first response, met
    report = licensing.sla.report("acme", 2030, 1)
    assert report.tickets == 3
    assert (report.first_response.met, report.first_response.breached) == (2, 1)
    assert (report.resolution.met, report.resolution.breached, report.resolution.pending) == (
        1, 0, 2)  # fmt: skip
    assert report.compliance.text() == "0.7500"  # 3 of 4 decided targets
    clock.advance(days=5)
    later = licensing.sla.report("acme", 2030, 1)
    assert (later.resolution.met, later.resolution.breached) == (1, 2)
    assert licensing.sla.report("acme", 2030, 2).tickets == 0
    assert licensing.sla.report("acme", 2030, 2).compliance.text() is None
    assert missed
