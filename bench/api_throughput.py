"""HTTP write throughput against the same-run pure-SQL peer, on PostgreSQL, durable commits.

Each round, one after the other on this machine:

1. the pure-SQL peer (``bench/peer.py``, its "usual" design: one PL/pgSQL transaction per
   transfer with row locks) under ``pgbench``, 20 connections, 50 accounts;
2. the service as ``make run`` starts it (``azora serve`` with its defaults, no tuning
   variables) on a fresh database with a world account and 1,000 user accounts, under
   ``wrk`` with 20 connections and a Lua script making a unique idempotency key per entry:
   - single: ``POST /v1/entries``, one entry per request;
   - batch:  ``POST /v1/entries/batch``, 100 entries per request;

and prints entries/s, latencies and the ratios to the peer of that round. Entries/s counts
rows that reached the journal (read from the database before and after), not requests;
"entries/commit" is how many entries one transaction held (they share ``recorded_at``).
Targets: single >= 1.5x the peer with p99 <= 50 ms, batch >= 10x the peer. This machine is
shared and noisy: only ratios of one round compare.

Anchoring (a background job, measured by ``bench/merkle_anchor.py``) is off unless
``--anchoring``: the server then starts no chain node and no anchoring worker.

Usage: ``.venv/bin/python bench/api_throughput.py [--seconds 15] [--repeat 2] [--url URL]``
(default URL: ``$AZORA_TEST_PG_URL`` with the database ``azora_bench_api``, recreated;
``--workers N`` overrides the default worker count, ``--lean-peer`` adds the lean peer).
Needs ``wrk`` (Debian/Ubuntu: ``apt-get install -y wrk``; macOS: ``brew install wrk``) and
``pgbench`` (it comes with PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import peer
from benchdb import bench_url, fresh_database
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "api_entries.lua"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/azora_test"
ACCOUNTS = 1000
CONNECTIONS = 20
WRK_THREADS = 2
BATCH_SIZE = 100
TARGET_SINGLE = 1.5
TARGET_BATCH = 10.0
TARGET_P99_MS = 50.0
START_TIMEOUT_S = 60.0


@dataclass
class Result:
    mode: str
    requests: int
    entries: int
    commits: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.entries / self.seconds

    def row(self) -> str:
        per_commit = self.entries / self.commits if self.commits else float("nan")
        return (
            f"| {self.mode:<22} | {self.rate:>10,.0f} | {self.p50_ms:>8.1f} | {self.p99_ms:>8.1f} "
            f"| {per_commit:>14.1f} | {self.errors:>6} |"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    db_url: str,
    admin_key: str,
    log_path: Path,
    *,
    anchoring: bool = False,
    workers: int | None = None,
    port: int | None = None,
    env_extra: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """``azora serve`` on ``port`` (default: a free one), waited for until /readyz says 200."""
    port = port or free_port()
    env = {
        **os.environ,
        "AZORA_DATABASE_URL": db_url,
        "AZORA_ADMIN_API_KEY": admin_key,
        "AZORA_JWT_SECRET": secrets.token_urlsafe(48),
        "AZORA_ANCHORING": "true" if anchoring else "false",
        **(env_extra or {}),
    }
    cmd = [
        sys.executable,
        "-m",
        "azora.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *(["--workers", str(workers)] if workers else []),
    ]
    process = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=log_path.open("wb"), stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"server did not start:\n{log_path.read_text()}")


def open_accounts(base: str, admin_key: str) -> None:
    auth = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
        client.post(
            "/v1/accounts", json={"id": "world:bench", "asset": "USD", "allow_negative": True}
        ).raise_for_status()
        for i in range(ACCOUNTS):
            client.post(
                "/v1/accounts", json={"id": f"user:b{i}:usd", "asset": "USD"}
            ).raise_for_status()


def journal_size(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM entries")).scalar_one())
    engine.dispose()
    return count


def commits_since(db_url: str, seq: int) -> int:
    """Transactions that wrote entries after ``seq``: a batch's entries share recorded_at."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(DISTINCT recorded_at) FROM entries WHERE seq > :seq"),
            {"seq": seq},
        ).scalar_one()
    engine.dispose()
    return int(found)


def run_wrk(base: str, admin_key: str, mode: str, seconds: int, db_url: str) -> Result:
    before = journal_size(db_url)  # seq is gapless from 1: also the last seq
    nonce = f"{mode}-{secrets.token_hex(4)}"
    cmd = [
        "wrk",
        "-t",
        str(WRK_THREADS),
        "-c",
        str(CONNECTIONS),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base,
        "--",
        mode,
        nonce,
        str(ACCOUNTS),
        admin_key,
        str(BATCH_SIZE),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    stats = json.loads(line.removeprefix("WRK_JSON "))
    return Result(
        mode=f"{mode} ({1 if mode == 'single' else BATCH_SIZE}/request)",
        requests=stats["requests"],
        entries=journal_size(db_url) - before,
        commits=commits_since(db_url, before),
        seconds=stats["duration_us"] / 1e6,
        p50_ms=stats["p50_us"] / 1e3,
        p99_ms=stats["p99_us"] / 1e3,
        errors=stats["status_errors"] + stats["socket_errors"],
    )


def one_round(base: str, admin_key: str, db_url: str, args: argparse.Namespace) -> str:
    """Peer, then single, then batch; the round's table as Markdown."""
    peers = [("usual", peer.run_pgbench(peer.install(args.peer_url, "usual"), args.seconds))]
    if args.lean_peer:
        peers.append(("lean", peer.run_pgbench(peer.install(args.peer_url, "lean"), args.seconds)))
    single = run_wrk(base, admin_key, "single", args.seconds, db_url)
    batch = run_wrk(base, admin_key, "batch", args.seconds, db_url)
    lines = [
        "| run                    |  entries/s |  p50 ms  |  p99 ms  | entries/commit | errors |",
        "|------------------------|-----------:|---------:|---------:|---------------:|-------:|",
    ]
    for name, result in peers:
        lines.append(
            f"| peer ({name}, pgbench)  | {result.rate:>10,.0f} | {result.p50_ms:>8.1f} "
            f"| {result.p99_ms:>8.1f} | {1:>14.1f} | {result.failed:>6} |"
        )
    lines += [single.row(), batch.row(), ""]
    for name, result in peers:
        s_ratio, b_ratio = single.rate / result.rate, batch.rate / result.rate
        lines.append(
            f"ratios to the {name} peer: single {s_ratio:.2f}x (p99 {single.p99_ms:.0f} ms), "
            f"batch {b_ratio:.2f}x"
        )
    usual = peers[0][1]
    met = (
        single.rate >= TARGET_SINGLE * usual.rate
        and single.p99_ms <= TARGET_P99_MS
        and batch.rate >= TARGET_BATCH * usual.rate
    )
    lines.append(
        f"targets (single >= {TARGET_SINGLE}x with p99 <= {TARGET_P99_MS:.0f} ms, "
        f"batch >= {TARGET_BATCH:.0f}x the usual peer): {'met' if met else 'NOT met'}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=2, help="rounds (peer, single, batch)")
    parser.add_argument("--workers", type=int, default=None, help="default: the server's")
    parser.add_argument("--lean-peer", action="store_true", help="also run the lean peer")
    parser.add_argument("--port", type=int, default=None, help="the server's (default: free)")
    parser.add_argument(
        "--anchoring", action="store_true", help="run the anchoring worker (a chain) too"
    )
    parser.add_argument("--url", default=bench_url("azora_bench_api"))
    parser.add_argument("--peer-url", default=bench_url("azora_bench_peer"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or "
            "`brew install wrk` (macOS), then run this again"
        )
    db_url = fresh_database(args.url)  # durable commits checked there
    admin_key = "bench-" + secrets.token_urlsafe(24)
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / "azora-api-bench-server.log"
    process, base = start_server(
        db_url, admin_key, log_path, anchoring=args.anchoring, workers=args.workers, port=args.port
    )
    tables = []
    try:
        open_accounts(base, admin_key)
        run_wrk(base, admin_key, "single", 3, db_url)  # warm-up: connections, caches
        for _ in range(args.repeat):
            tables.append(one_round(base, admin_key, db_url, args))
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(
        f"\nAPI throughput against the pure-SQL peer: azora serve with "
        f"{'its default workers' if args.workers is None else f'{args.workers} workers'}, "
        f"wrk and pgbench {CONNECTIONS} connections, {args.seconds}s per run, PostgreSQL "
        f"durable commits, anchoring {'on' if args.anchoring else 'off'}, "
        f"{os.cpu_count()} CPUs shared by server, database and load generator"
    )
    for number, table in enumerate(tables, 1):
        print(f"\nround {number}\n\n{table}")


if __name__ == "__main__":
    main()
