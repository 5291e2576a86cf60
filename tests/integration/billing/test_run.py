"""The billing run: renewals, retries over the grace period, period ends; exactly once."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from ledger import Ledger
from ledger.store.engine import make_engine
from monetization.billing import Billing, Status
from monetization.billing.tables import billing_subscriptions
from tests.integration.billing.conftest import (
    DECLINED,
    VISA,
    Clock,
    make_billing,
    revenue,
    set_method,
    subscribe,
)

FEB28 = datetime(2030, 2, 28, 12, tzinfo=UTC)
MAR31 = datetime(2030, 3, 31, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[3]


def test_renewal_charges_once_per_period(billing: Billing, ledger_: Ledger) -> None:
    subscribe(billing, "ada", "pro")
    price = billing.catalog.plan("pro").price
    assert billing.run(FEB28 - timedelta(seconds=1)).line() == (
        "billing: 0 charged, 0 failed, 0 downgraded"
    )
    assert billing.run(FEB28).line() == "billing: 1 charged, 0 failed, 0 downgraded"
    assert billing.run(FEB28 + timedelta(days=1)).charged == 0  # the same period: nothing
    sub = billing.subscriptions.get("ada")
    assert (sub.current_period_start, sub.current_period_end) == (FEB28, MAR31)
    assert revenue(ledger_) == 2 * price


def test_a_late_run_catches_up_every_missed_period(billing: Billing, ledger_: Ledger) -> None:
    subscribe(billing, "ada", "pro")
    report = billing.run(datetime(2030, 5, 1, tzinfo=UTC))
    assert report.charged == 3  # Feb 28, Mar 31, Apr 30
    assert billing.subscriptions.get("ada").current_period_end == datetime(
        2030, 5, 31, 12, tzinfo=UTC
    )
    assert revenue(ledger_) == 4 * billing.catalog.plan("pro").price


def test_scheduled_downgrade_and_cancel_take_effect_at_the_period_end(
    billing: Billing, ledger_: Ledger, clock: Clock
) -> None:
    subscribe(billing, "ent", "enterprise")
    subscribe(billing, "quit", "pro")
    subscribe(billing, "free", "pro")
    clock.advance(days=1)
    subscribe(billing, "ent", "pro", key="down")
    billing.cancel("quit")
    subscribe(billing, "free", "free", key="down")
    report = billing.run(FEB28)
    assert report.line() == "billing: 1 charged, 0 failed, 2 downgraded"
    ent = billing.subscriptions.get("ent")
    assert (ent.plan_id, ent.status, ent.current_period_end) == ("pro", Status.ACTIVE, MAR31)
    quit_ = billing.subscriptions.get("quit")
    assert (quit_.plan_id, quit_.status) == ("free", Status.CANCELED)
    free = billing.subscriptions.get("free")
    assert (free.plan_id, free.status) == ("free", Status.ACTIVE)
    plans = billing.catalog
    assert revenue(ledger_) == plans.plan("enterprise").price + 2 * plans.plan("pro").price + (
        plans.plan("pro").price
    )


def test_failed_renewal_retries_through_grace_then_falls_to_free(
    billing: Billing, ledger_: Ledger, engine: Engine
) -> None:
    subscribe(billing, "ada", "pro")
    set_method(engine, "ada", DECLINED)
    assert billing.run(FEB28).line() == "billing: 0 charged, 1 failed, 0 downgraded"
    sub = billing.subscriptions.get("ada")
    assert sub.status is Status.PAST_DUE and sub.plan_id == "pro"
    assert sub.grace_until == FEB28 + timedelta(days=7)
    assert billing.feature("ada", "paid_course_publishing") is True  # served during grace
    for day in (1, 3, 5):
        assert billing.run(FEB28 + timedelta(days=day) - timedelta(seconds=1)).failed == 0
        assert billing.run(FEB28 + timedelta(days=day)).failed == 1
    report = billing.run(FEB28 + timedelta(days=7))
    assert report.line() == "billing: 0 charged, 1 failed, 1 downgraded"
    sub = billing.subscriptions.get("ada")
    assert (sub.plan_id, sub.status) == ("free", Status.CANCELED)
    assert billing.feature("ada", "paid_course_publishing") is False
    assert revenue(ledger_) == billing.catalog.plan("pro").price  # only the first month


def test_a_retry_that_succeeds_renews_from_the_unpaid_period(
    billing: Billing, ledger_: Ledger, engine: Engine
) -> None:
    subscribe(billing, "ada", "pro")
    set_method(engine, "ada", DECLINED)
    billing.run(FEB28)
    set_method(engine, "ada", VISA)
    assert billing.run(FEB28 + timedelta(days=1)).charged == 1
    sub = billing.subscriptions.get("ada")
    assert (sub.status, sub.current_period_start, sub.current_period_end) == (
        Status.ACTIVE, FEB28, MAR31,
    )  # fmt: skip
    assert revenue(ledger_) == 2 * billing.catalog.plan("pro").price


def test_an_unavailable_provider_changes_nothing(
    billing: Billing, ledger_: Ledger, engine: Engine
) -> None:
    subscribe(billing, "ada", "pro")
    set_method(engine, "ada", "pm_card_unavailable")
    assert billing.run(FEB28).failed == 1
    assert billing.subscriptions.get("ada").status is Status.ACTIVE
    set_method(engine, "ada", VISA)
    assert billing.run(FEB28).charged == 1


# --- twice at once, on PostgreSQL -------------------------------------------------------


def _run_in_process(url: str, now: str, start: Any, results: Any) -> None:
    engine = make_engine(url)
    with Ledger(engine) as book:
        billing = make_billing(engine, book, Clock(datetime.fromisoformat(now)))
        start.wait(30)
        report = billing.run()
        billing.close()
        results.put((report.charged, report.failed))
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_runs_at_once_charge_each_subscription_once(
    db_url: str, engine: Engine, billing: Billing, ledger_: Ledger
) -> None:
    users = [f"u{i}" for i in range(300)]
    for user in users:
        subscribe(billing, user, "pro")
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_run_in_process, args=(db_url, FEB28.isoformat(), start, results))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    start.set()
    reports = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sum(charged for charged, _ in reports) == len(users)
    price = billing.catalog.plan("pro").price
    assert revenue(ledger_) == 2 * price * len(users)
    with engine.connect() as conn:
        renewed = conn.execute(
            select(func.count()).where(billing_subscriptions.c.current_period_end == MAR31)
        ).scalar_one()
    assert renewed == len(users)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_command_prints_its_counts_and_a_second_run_charges_nothing(
    db_url: str, billing: Billing, ledger_: Ledger
) -> None:
    subscribe(billing, "ada", "pro")
    env = {"AZORA_DATABASE_URL": db_url, "PATH": "/usr/bin:/bin", "AZORA_ANCHORING": "off"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "azora.cli", "billing", "run", *args],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    first = run("--now", "2030-02-28T12:00:00Z")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "billing: 1 charged, 0 failed, 0 downgraded"
    again = run("--now", "2030-02-28T13:00:00+01:00")
    assert again.stdout.strip() == "billing: 0 charged, 0 failed, 0 downgraded"
    bad = run("--now", "yesterday")
    assert bad.returncode == 2 and "ISO-8601" in bad.stderr and "Traceback" not in bad.stderr
    # (argv cannot carry NUL bytes or lone surrogates: the OS refuses them before we do)
    for hostile in ("9999-12-31T23:59:59Z", "2030-02-30T00:00:00Z", "0001-01-01", "1e9"):
        refused = run("--now", hostile)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert revenue(ledger_) == 2 * billing.catalog.plan("pro").price


def test_a_run_far_in_the_future_catches_up_a_bounded_number_of_periods(
    billing: Billing, ledger_: Ledger
) -> None:
    from monetization.billing.renewal import CATCH_UP_PERIODS_MAX

    subscribe(billing, "ada", "pro")
    report = billing.run(datetime(9998, 6, 1, tzinfo=UTC))
    assert report.charged == CATCH_UP_PERIODS_MAX
    assert revenue(ledger_) == (1 + CATCH_UP_PERIODS_MAX) * billing.catalog.plan("pro").price
    assert billing.run(datetime(9998, 6, 1, tzinfo=UTC)).charged == CATCH_UP_PERIODS_MAX
