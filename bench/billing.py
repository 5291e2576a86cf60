"""Billing at scale on PostgreSQL: one billing run over 100,000 due subscriptions, and
feature checks from the cache (in-process and over HTTP).

1. ``--subscriptions`` pro subscriptions whose period ended are written straight into
   ``billing_subscriptions`` (set-up, not measured), then ``Billing.run`` renews them all:
   decided in batches of 1,000, charged through the local provider, recorded with one
   ``Ledger.post_entries`` per batch, applied with compare-and-set updates. A second run
   right after (nothing due) shows the cost of finding nothing.
2. Feature checks in-process: ``Billing.feature`` for users already cached (the NOTIFY
   listener keeps the cache valid) against the alternative of reading the user's plan on
   every check (a version read per check), same run, same users.
3. Over HTTP: ``azora serve`` in a subprocess, one keep-alive client,
   ``GET /v1/users/{id}/features/{feature}`` with an admin key.

Usage: ``.venv/bin/python bench/billing.py [--subscriptions 100000] [--checks 100000]
[--http 3000] [--url URL]`` (default URL: ``$AZORA_TEST_PG_URL`` with the database
``azora_bench_billing``, recreated).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from benchdb import bench_url, fresh_database, pct
from sqlalchemy import Engine, func, insert, select

from ledger import Ledger
from ledger.store.engine import make_engine
from monetization.billing import Billing, BillingConfig, build_billing
from monetization.billing.tables import billing_subscriptions
from monetization.payments import LocalProvider

ROOT = Path(__file__).resolve().parents[1]
PERIOD_START = datetime(2030, 1, 15, 9, tzinfo=UTC)
PERIOD_END = datetime(2030, 2, 15, 9, tzinfo=UTC)
ADMIN_KEY = "bench-admin-key-0123456789abcdef"


def seed(engine: Engine, n: int) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "user_id": f"u{i}", "plan_id": "pro", "status": "active",
            "current_period_start": PERIOD_START, "current_period_end": PERIOD_END,
            "anchor_day": 15, "cancel_at_period_end": False, "scheduled_plan": None,
            "payment_method": "pm_card_visa", "failed_attempts": 0, "grace_until": None,
            "due_at": PERIOD_END, "change_id": None, "version": 1,
            "created_at": now, "updated_at": now,
        }
        for i in range(n)
    ]  # fmt: skip
    with engine.begin() as conn:
        for i in range(0, n, 10_000):
            conn.execute(insert(billing_subscriptions), rows[i : i + 10_000])


def bench_run(billing: Billing, engine: Engine, n: int) -> None:
    started = time.perf_counter()
    report = billing.run(PERIOD_END)
    elapsed = time.perf_counter() - started
    print(f"billing run over {n} due subscriptions: {elapsed:.1f} s "
          f"({n / elapsed:,.0f} renewals/s) -> {report.line()}")  # fmt: skip
    started = time.perf_counter()
    again = billing.run(PERIOD_END)
    print(f"second run, nothing due: {(time.perf_counter() - started) * 1e3:.1f} ms "
          f"-> {again.line()}")  # fmt: skip
    with engine.connect() as conn:
        renewed = conn.execute(
            select(func.count()).where(billing_subscriptions.c.current_period_start == PERIOD_END)
        ).scalar_one()
    revenue = billing.payments.ledger.balance("platform:revenue:subscriptions").balance
    print(f"check: {renewed} renewed, revenue {revenue} cents = {n} x 999: {revenue == n * 999}")


def _timed(call: object, users: list[str], feature: str) -> list[float]:
    assert callable(call)
    times = []
    for user in users:
        t = time.perf_counter()
        call(user, feature)
        times.append(time.perf_counter() - t)
    return times


def _line(name: str, times: list[float]) -> str:
    return (f"{name}: p50 {pct(times, 0.5) * 1e6:.1f} us, p99 {pct(times, 0.99) * 1e6:.1f} us, "
            f"max {max(times) * 1e6:.0f} us over {len(times)}")  # fmt: skip


def bench_checks(billing: Billing, n_users: int, checks: int) -> None:
    access = billing.access
    assert access.listener is not None and access.listener.wait_listening(10)
    users = [f"u{i % n_users}" for i in range(checks)]
    for user in users[:n_users]:
        billing.feature(user, "paid_course_publishing")  # warm the cache
    cached = _timed(billing.feature, users, "paid_course_publishing")
    read = _timed(lambda u, f: billing.catalog.plan(access.store.get(u).plan_id).features[f],
                  users[: max(1, checks // 10)], "paid_course_publishing")  # fmt: skip
    print(_line("feature check from the cache (in-process)", cached))
    print(_line("feature check reading the plan each time", read))
    print(f"ratio p50 read / cached: {pct(read, 0.5) / pct(cached, 0.5):.0f}x")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bench_http(url: str, n_users: int, requests: int) -> None:
    port = _free_port()
    env = {**os.environ, "AZORA_DATABASE_URL": url, "AZORA_ANCHORING": "off",
           "AZORA_ADMIN_API_KEY": ADMIN_KEY, "AZORA_JWT_SECRET": "bench-" * 8,
           "AZORA_PORT": str(port)}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "azora.cli", "serve"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
            for _ in range(300):
                try:
                    if c.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            users = [f"u{i % min(n_users, 1000)}" for i in range(requests)]
            for user in users[:1000]:
                c.get(f"/v1/users/{user}/features/sso")
            times = []
            for user in users:
                t = time.perf_counter()
                answer = c.get(f"/v1/users/{user}/features/sso")
                times.append(time.perf_counter() - t)
                assert answer.status_code == 200, answer.text
        print(_line("feature check over HTTP (one keep-alive client)", times))
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=100_000)
    parser.add_argument("--http", type=int, default=3_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    url = fresh_database(args.url or bench_url("azora_bench_billing"))
    engine = make_engine(url)
    seed(engine, args.subscriptions)
    with Ledger(engine) as book:
        billing = build_billing(
            engine, book, BillingConfig(), LocalProvider(), lambda: PERIOD_END + timedelta(hours=1)
        )
        bench_run(billing, engine, args.subscriptions)
        bench_checks(billing, min(args.subscriptions, 10_000), args.checks)
        billing.close()
    engine.dispose()
    if args.http:
        bench_http(url, args.subscriptions, args.http)


if __name__ == "__main__":
    main()
