"""Organizations, members, roles and seats, on both back ends; seats under concurrency on
PostgreSQL (threads with their own connections, and processes)."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest
from sqlalchemy import Engine

from ledger import InvalidRequest, NotFound
from ledger.store.engine import make_engine
from monetization.licensing import (
    LastOwner,
    Licensing,
    OrgExists,
    OrgNotFound,
    Role,
    SeatLimitReached,
)
from tests.integration.billing.conftest import Clock
from tests.integration.licensing.conftest import START, make_licensing, org_with_license, terms

pytestmark = pytest.mark.integration


def test_an_organization_starts_with_its_owner_on_one_seat(licensing: Licensing) -> None:
    org, created = licensing.orgs.create("acme", "Acme Academy", "olga")
    assert created and (org.seats.used, org.seats.limit) == (1, 1)
    assert licensing.orgs.role_of("acme", "olga") is Role.OWNER
    again, created_again = licensing.orgs.create("acme", "Acme Academy", "olga")
    assert not created_again and again == org
    for name, owner in (("Other name", "olga"), ("Acme Academy", "bob")):
        with pytest.raises(OrgExists):
            licensing.orgs.create("acme", name, owner)
    with pytest.raises(SeatLimitReached):  # no license: the owner's seat only
        licensing.orgs.add_member("acme", "bob", Role.MEMBER)


HOSTILE = [
    ("Acme", "A", "o"), ("a" * 65, "A", "o"), ("acme", "", "o"), ("acme", "A\x00", "o"),
    ("acme", "A\ud800", "o"), ("acme", "A", "Olga"), ("acme", "x" * 201, "o"),
    ("acme\x00", "A", "o"), ("acme", "A", "o\ud800"),
]  # fmt: skip


def test_hostile_organizations_are_refused(licensing: Licensing) -> None:
    for org_id, name, owner in HOSTILE:
        with pytest.raises(InvalidRequest):
            licensing.orgs.create(org_id, name, owner)
    assert licensing.orgs.listed() == []


def test_members_roles_and_the_last_owner(licensing: Licensing) -> None:
    org_with_license(licensing, seats=3)
    assert licensing.orgs.add_member("acme", "ada", Role.ADMIN)[1]
    member, created = licensing.orgs.add_member("acme", "ada", Role.MEMBER)
    assert not created and member.role is Role.MEMBER
    assert [m.user_id for m in licensing.orgs.members("acme")] == ["ada", "olga"]
    with pytest.raises(LastOwner):
        licensing.orgs.add_member("acme", "olga", Role.ADMIN)
    with pytest.raises(LastOwner):
        licensing.orgs.remove_member("acme", "olga")
    licensing.orgs.add_member("acme", "ada", Role.OWNER)
    licensing.orgs.add_member("acme", "olga", Role.MEMBER)  # another owner remains
    assert licensing.orgs.role_of("acme", "olga") is Role.MEMBER
    licensing.orgs.remove_member("acme", "olga")
    with pytest.raises(NotFound):
        licensing.orgs.remove_member("acme", "olga")
    with pytest.raises(OrgNotFound):
        licensing.orgs.add_member("nobody", "x", Role.MEMBER)
    assert [o.id for o in licensing.orgs.listed(user_id="ada")] == ["acme"]
    assert licensing.orgs.listed(user_id="olga") == []


def test_seats_follow_the_active_license(licensing: Licensing, clock: Clock) -> None:
    lid = org_with_license(licensing, seats=2, days=30)
    licensing.orgs.add_member("acme", "bob", Role.MEMBER)
    with pytest.raises(SeatLimitReached):
        licensing.orgs.add_member("acme", "carl", Role.MEMBER)
    licensing.orgs.remove_member("acme", "bob")  # a seat is free again
    licensing.orgs.add_member("acme", "carl", Role.MEMBER)
    clock.advance(seconds=1)
    licensing.licenses.issue("acme", terms(seats=4), principal="key:t")  # the latest counts
    licensing.orgs.add_member("acme", "dora", Role.MEMBER)
    assert licensing.orgs.get("acme").seats.limit == 4
    licensing.licenses.revoke(licensing.licenses.of_org("acme")[-1].id)
    assert licensing.orgs.get("acme").seats.limit == 2  # back to the first one
    assert licensing.orgs.get("acme").seats.used == 3  # members stay, none admitted
    with pytest.raises(SeatLimitReached):
        licensing.orgs.add_member("acme", "erin", Role.MEMBER)
    clock.advance(days=31)  # the first expired too (30 days from START)
    assert licensing.orgs.get("acme").seats.limit == 1
    assert licensing.licenses.get(lid).expires_at < clock()


def _admit(licensing: Licensing, users: list[str]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    barrier = threading.Barrier(len(users))

    def add(user: str) -> None:
        barrier.wait()
        try:
            licensing.orgs.add_member("acme", user, Role.MEMBER)
            outcomes["admitted"] += 1
        except SeatLimitReached:
            outcomes["refused"] += 1

    threads = [threading.Thread(target=add, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_twenty_concurrent_adds_against_five_seats(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=20)
    try:
        licensing = make_licensing(engine, Clock(START))
        org_with_license(licensing, seats=5)
        outcomes = _admit(licensing, [f"user-{n}" for n in range(20)])
        assert outcomes == Counter(admitted=4, refused=16)  # the owner holds the fifth
        assert licensing.orgs.get("acme").seats.used == 5
        assert len(licensing.orgs.members("acme")) == 5
    finally:
        engine.dispose()


def _add_in_process(url: str, users: list[str], results: multiprocessing.Queue[str]) -> None:
    engine = make_engine(url)
    licensing = make_licensing(engine, Clock(START))
    for user in users:
        try:
            licensing.orgs.add_member("acme", user, Role.MEMBER)
            results.put("admitted")
        except SeatLimitReached:
            results.put("refused")
    engine.dispose()


def test_concurrent_adds_from_four_processes(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        org_with_license(make_licensing(engine, Clock(START)), seats=5)
        context = multiprocessing.get_context("spawn")
        results: multiprocessing.Queue[str] = context.Queue()
        workers = [
            context.Process(target=_add_in_process,
                            args=(pg_url, [f"p{w}-u{n}" for n in range(5)], results))
            for w in range(4)
        ]  # fmt: skip
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        outcomes = Counter(results.get(timeout=5) for _ in range(20))
        assert outcomes == Counter(admitted=4, refused=16)
        assert make_licensing(engine, Clock(START)).orgs.get("acme").seats.used == 5
    finally:
        engine.dispose()


def test_engine_fixture_runs_on_both_back_ends(engine: Engine, licensing: Licensing) -> None:
    org_with_license(licensing, seats=3)
    outcomes = _admit(licensing, [f"u{n}" for n in range(6)])
    assert outcomes == Counter(admitted=2, refused=4)
    assert engine.dialect.name in ("sqlite", "postgresql")
