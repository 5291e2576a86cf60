"""License keys and usage events: offline verification, online validation, usage events.

1. Offline verification in one process (what ``azora license verify --keys`` and an
   on-premises install do): ``keyformat.verify`` over distinct keys, against the bare
   Ed25519 signature check of the same keys in the same run (the cost of parsing and
   checking the claims is the difference). Target: >= 5,000 verifications/s.
2. Online validation in-process: ``Licenses.validate`` (published keys cached, one
   revocation read per key) on PostgreSQL.
3. Over HTTP: ``azora serve`` (its defaults) on a fresh PostgreSQL database under ``wrk``,
   20 connections: ``POST /v1/licenses/validate`` (public, one key), then
   ``POST /v1/orgs/{id}/usage`` with a unique event id per request spread over
   ``--orgs`` organizations, and over one organization (every event of one organization
   is decided under its row lock). Usage counts the events that reached the database.

Usage: ``.venv/bin/python bench/licensing.py [--keys 2000] [--seconds 10] [--orgs 50]
[--url URL]`` (default URL: ``$AZORA_TEST_PG_URL`` with the database
``azora_bench_licensing``, recreated). Needs ``wrk``. Only same-run ratios compare: the
machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from benchdb import bench_url, fresh_database
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from ledger.store.engine import make_engine
from monetization.licensing import LicenseRequest, Licensing, Limits, Tier, build_licensing
from monetization.licensing.keyformat import Claims, parse, sign, verify
from monetization.licensing.tables import licensing_usage_events

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).resolve().parent / "licensing.lua"
ADMIN_KEY = "bench-licensing-admin-key-0123456789abcdef"
TARGET_OFFLINE_PER_S = 5_000
CONNECTIONS = 20


def made_keys(n: int) -> tuple[list[str], dict[str, object]]:
    """``n`` keys signed by four keys (as after a few rotations)."""
    signers = {f"k{i}": Ed25519PrivateKey.generate() for i in range(4)}
    now = int(time.time())
    keys = []
    for i in range(n):
        kid = f"k{i % 4}"
        claims = Claims(str(uuid.uuid4()), f"org-{i}", "enterprise", 50, Limits(10**6, None, 500),
                        now, now + 86_400 * 365, kid)  # fmt: skip
        keys.append(sign(claims, signers[kid]))
    return keys, {kid: private.public_key() for kid, private in signers.items()}


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def timed(work: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of ``work``."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_offline(n: int, rounds: int) -> None:
    keys, public = made_keys(n)
    now = int(time.time())
    total = n * rounds

    def full() -> None:
        valid = sum(verify(k, public.get, now).valid for _ in range(rounds) for k in keys)  # type: ignore[arg-type]
        assert valid == total, valid

    parsed = [parse(k) for k in keys]

    def bare() -> None:
        for _ in range(rounds):
            for item in parsed:
                assert item is not None
                claims, signed, signature = item
                try:
                    public[claims.kid].verify(signature, signed)  # type: ignore[attr-defined]
                except InvalidSignature:
                    raise AssertionError("a made key must verify") from None

    full_wall, full_cpu = timed(full)
    bare_wall, bare_cpu = timed(bare)
    verdict = "met" if total / full_cpu >= TARGET_OFFLINE_PER_S else "NOT met"
    print(f"offline verify (parse, claims, Ed25519, expiry) of {total} distinct keys: "
          f"{rate(total, full_wall)} wall, {rate(total, full_cpu)} per CPU second "
          f"(target {TARGET_OFFLINE_PER_S:,}/s in one process: {verdict})")  # fmt: skip
    print(f"bare Ed25519 check of the same keys: {rate(total, bare_wall)} wall, "
          f"{rate(total, bare_cpu)} per CPU second; full / bare CPU time: "
          f"{full_cpu / bare_cpu:.2f}x")  # fmt: skip
    print(
        f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(wall-clock rates shrink with it; CPU-second rates do not)"
    )


def bench_online(url: str, n: int) -> tuple[str, str]:
    """Online validation in-process; returns (a valid key, its org) for the HTTP round."""
    engine = make_engine(url)
    licensing = build_licensing(
        engine, lambda: datetime.now(UTC), signing_secret=lambda: "bench-secret-" * 4,
        sso_secrets=lambda: ["bench-sso-" * 4], resolver=lambda: None,  # type: ignore[arg-type,return-value]
    )  # fmt: skip
    licensing.orgs.create("bench-online", "Bench", "olga")
    terms = LicenseRequest(Tier.CUSTOM, 5, Limits(), datetime.now(UTC) + timedelta(days=30), 0)
    made, _ = licensing.licenses.issue("bench-online", terms, principal="bench")
    licensing.licenses.validate(made.key)  # warm the key cache and the verified memo
    wall, cpu = timed(lambda: _validate_many(licensing, made.key, n))
    print(f"online validate in-process of one key (memo, a revocation read each): "
          f"{rate(n, wall)} wall, {rate(n, cpu)} per CPU second")  # fmt: skip
    engine.dispose()
    return made.key, made.org_id


def _validate_many(licensing: Licensing, key: str, n: int) -> None:
    assert all(licensing.licenses.validate(key).valid for _ in range(n))


def start_server(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AZORA_DATABASE_URL": url, "AZORA_ANCHORING": "off",
           "AZORA_ADMIN_API_KEY": ADMIN_KEY, "AZORA_JWT_SECRET": "bench-jwt-" * 5,
           "AZORA_LICENSE_SIGNING_KEY": "bench-secret-" * 4,
           "AZORA_DATA_DIR": str(log.parent)}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "azora.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def wrk(base: str, mode: str, seconds: int, key: str, orgs: int) -> dict[str, float]:
    cmd = ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "10s",
           "-s", str(LUA), base, "--", mode, secrets.token_hex(4), ADMIN_KEY, key,
           str(orgs)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    stats: dict[str, float] = json.loads(line.removeprefix("WRK_JSON "))
    return stats


def events(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = int(
            conn.execute(select(func.count()).select_from(licensing_usage_events)).scalar_one()
        )
    engine.dispose()
    return count


def row(name: str, count: float, stats: dict[str, float]) -> str:
    seconds = stats["duration_us"] / 1e6
    errors = int(stats["status_errors"] + stats["socket_errors"])
    return (f"| {name:<34} | {count / seconds:>9,.0f} | {stats['p50_us'] / 1e3:>7.1f} "
            f"| {stats['p99_us'] / 1e3:>7.1f} | {errors:>6} |")  # fmt: skip


def bench_http(url: str, key: str, seconds: int, orgs: int) -> None:
    if shutil.which("wrk") is None:
        print("wrk is not installed: HTTP round skipped (apt-get install -y wrk)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        process, base = start_server(url, Path(tmp) / "server.log")
        auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
        license_ = {
            "tier": "custom",
            "seats": 5,
            "price": "0",
            "expires_at": "2099-01-01T00:00:00Z",
        }
        try:
            with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
                for i in range(orgs):
                    org = {"id": f"bench{i}", "name": "B", "owner_user_id": "o"}
                    client.post("/v1/orgs", json=org).raise_for_status()
                    client.post(f"/v1/orgs/bench{i}/licenses", json=license_).raise_for_status()
            print("| run                                |  per s    | p50 ms  | p99 ms  | errors |")
            print("|------------------------------------|----------:|--------:|--------:|-------:|")
            stats = wrk(base, "validate", seconds, key, orgs)
            print(row("POST /v1/licenses/validate", stats["requests"], stats))
            for spread in (orgs, 1):
                before = events(url)
                stats = wrk(base, "usage", seconds, key, spread)
                print(row(f"usage events over {spread} org(s)", events(url) - before, stats))
        finally:
            process.terminate()
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--online", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    bench_offline(args.keys, args.rounds)
    url = fresh_database(args.url or bench_url("azora_bench_licensing"))
    key, _org = bench_online(url, args.online)
    bench_http(url, key, args.seconds, args.orgs)


if __name__ == "__main__":
    main()
