"""The same-run baseline: a pure-SQL PostgreSQL ledger of the usual design, under pgbench.

What most PostgreSQL ledgers do (pgledger's ``pgledger_create_transfer`` is the well-known
example): one PL/pgSQL function per transfer, in one transaction of its own, that locks
both accounts' rows (in id order, so two transfers never deadlock), checks them (they
exist, same currency, no overdraft unless the account may go negative), inserts the
transfer and its two entries (with the balances before and after), and updates the two
balances. Written here; installed into a fresh database of its own; driven by ``pgbench``
with 20 connections over 50 accounts, random pairs, durable commits.

Usage: ``.venv/bin/python bench/peer.py [--seconds 15] [--connections 20] [--url URL]``
(default URL: ``$AZORA_TEST_PG_URL`` with the database ``azora_bench_peer``, recreated).
``bench/api_throughput.py`` runs this first and prints the service's ratios to it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchdb import bench_url, fresh_database, pct
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ACCOUNTS = 50
CONNECTIONS = 20
PGBENCH_THREADS = 2

# Both designs: one transaction per transfer; lock both accounts' rows in id order; check
# (exist, same currency, no overdraft unless allowed); insert the transfer and two entries
# with the balances before and after; update both balances. "usual" is the design the
# well-known pure-SQL ledgers ship (the baseline of the targets); "lean" the same rules with
# nothing else (printed for scale). Their SQL files say what each holds.
HERE = Path(__file__).resolve().parent
DESIGNS = {"usual": HERE / "peer_usual.sql", "lean": HERE / "peer_lean.sql"}

# Random pairs of distinct accounts among ACCOUNTS, one transfer per transaction.
PGBENCH_SCRIPT = f"""\\set src random(1, {ACCOUNTS})
\\set off random(1, {ACCOUNTS - 1})
\\set dst ((:src - 1 + :off) % {ACCOUNTS}) + 1
\\set cents random(1, 9999)
SELECT * FROM peer_create_transfer('acct-' || :src, 'acct-' || :dst, :cents);
"""


@dataclass
class PeerResult:
    transfers: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int

    @property
    def rate(self) -> float:
        return self.transfers / self.seconds

    def row(self, label: str = "pure-SQL peer") -> str:
        return (
            f"| {label} | {self.rate:>10,.0f} | {self.p50_ms:>7.1f} "
            f"| {self.p99_ms:>7.1f} | {self.failed:>6} |"
        )


def install(url: str, design: str = "usual") -> str:
    """A fresh database holding the peer's schema and ACCOUNTS accounts (may go negative)."""
    fresh_database(url, migrate=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        # No parameters: "%" (in %ROWTYPE, RAISE) stays as written.
        raw.execute(DESIGNS[design].read_text())
        conn.execute(
            text(
                "INSERT INTO peer_accounts (id, name, currency, allow_negative) "
                "SELECT 'acct-' || n, 'account ' || n, 'USD', true "
                "FROM generate_series(1, :n) AS n"
            ),
            {"n": ACCOUNTS},
        )
    engine.dispose()
    return url


def libpq_args(url: str) -> list[str]:
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    if parsed.username:
        args += ["-U", parsed.username]
    return [*args, parsed.database or "postgres"]


def run_pgbench(url: str, seconds: int, connections: int = CONNECTIONS) -> PeerResult:
    """Drive the peer with pgbench; latencies from its per-transaction log."""
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench is missing: it comes with PostgreSQL (postgresql-client)")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "transfer.sql"
        script.write_text(PGBENCH_SCRIPT)
        cmd = [
            "pgbench",
            "--no-vacuum",
            "--protocol=prepared",
            f"--client={connections}",
            f"--jobs={PGBENCH_THREADS}",
            f"--time={seconds}",
            f"--file={script}",
            "--log",
            f"--log-prefix={tmp}/log",
            *libpq_args(url),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=tmp)
        latencies_ms = [
            int(line.split()[2]) / 1000
            for log in Path(tmp).glob("log*")
            for line in log.read_text().splitlines()
        ]
    out = done.stdout
    transfers = int(_grab(r"number of transactions actually processed: (\d+)", out))
    failed = int(_grab(r"number of failed transactions: (\d+)", out, "0"))
    duration = float(_grab(r"duration: (\d+) s", out))
    return PeerResult(transfers, duration, pct(latencies_ms, 0.5), pct(latencies_ms, 0.99), failed)


def _grab(pattern: str, text_: str, default: str | None = None) -> str:
    match = re.search(pattern, text_)
    if match is None:
        if default is not None:
            return default
        raise SystemExit(f"pgbench output lacks {pattern!r}:\n{text_}")
    return match.group(1)


def check_peer(url: str) -> None:
    """The peer's own books balance: every transfer has two entries summing to zero."""
    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT coalesce(sum(balance), 0) FROM peer_accounts")).scalar()
        lines = conn.execute(text("SELECT count(*) FROM peer_entries")).scalar_one()
        transfers = conn.execute(text("SELECT count(*) FROM peer_transfers")).scalar_one()
    engine.dispose()
    if total != 0 or lines != 2 * transfers:
        raise SystemExit(f"peer ledger inconsistent: sum {total}, {lines} entries/{transfers}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--url", default=bench_url("azora_bench_peer"))
    parser.add_argument("--design", choices=[*DESIGNS, "both"], default="both")
    args = parser.parse_args()
    designs = list(DESIGNS) if args.design == "both" else [args.design]
    rows = []
    for design in designs:
        url = install(args.url, design)
        result = run_pgbench(url, args.seconds, args.connections)
        check_peer(url)
        rows.append(result.row(f"peer, {design} design"))
    print(
        f"\npure-SQL peer: pgbench {args.connections} connections, {ACCOUNTS} accounts, "
        f"{args.seconds}s, durable commits\n"
    )
    print("| run | transfers/s | p50 ms | p99 ms | failed |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
