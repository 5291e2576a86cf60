"""Failover to a synchronous standby under load (DESIGN §8), ``make test-failover``.

Two local clusters: a primary whose commits wait for a streaming standby
(``synchronous_standby_names``), the service given both hosts with
``target_session_attrs=read-write``. Clients post transfers, holds and reward events over HTTP; the
primary is SIGKILLed (all its processes, as a machine that died) and the standby promoted.
Then: every acknowledged entry is on the new primary exactly once, the service wrote again
without a restart, ``azora ledger verify`` passes there (the hash chain and ``seq``
continue across the promote), and anchoring (on, to a local anvil) caught up on the new
primary with ``azora audit log`` valid.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.fault import bank
from tests.fault.conftest import Chain
from tests.fault.pgcluster import (
    Cluster,
    init_primary,
    init_standby,
    make_workdir,
    pick_port,
    wait_sync,
)
from tests.fault.server import ADMIN_KEY, azora, azora_env, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.fault]

USERS = 40
CLIENTS = 8
LOAD_BEFORE_S = 6.0
DETECT_S = 1.0  # the primary is dead this long before the promote (a monitor's delay)
LOAD_AFTER_S = 6.0
RESUME_TIMEOUT_S = 60.0
DATABASE = "azora"


@pytest.fixture
def pair() -> Iterator[tuple[Cluster, Cluster]]:
    workdir = make_workdir("azora-failover-")
    made: list[Cluster] = []
    try:
        made.append(init_primary(workdir, pick_port(55432), sync_standby="standby1"))
        made.append(init_standby(made[0], workdir, pick_port(55433), name="standby1"))
        wait_sync(made[0], "standby1")
        yield made[0], made[1]
    finally:
        for cluster in made:
            cluster.remove()
        shutil.rmtree(workdir, ignore_errors=True)


def multi_host_url(*clusters: Cluster) -> str:
    hosts = "&".join(f"host=127.0.0.1:{c.port}" for c in clusters)
    return f"postgresql+psycopg://postgres@/{DATABASE}?{hosts}&target_session_attrs=read-write&connect_timeout=3"


def wait_for_ack_after(tally: bank.Tally, instant: float, timeout_s: float) -> float | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with tally.lock:
            later = [t for t in tally.ack_times if t > instant]
        if later:
            return min(later)
        time.sleep(0.02)
    return None


def test_failover_to_the_synchronous_standby_loses_nothing(
    pair: tuple[Cluster, Cluster], anvil: Chain, tmp_path: Path
) -> None:
    primary, standby = pair
    primary.psql(f"CREATE DATABASE {DATABASE}")
    url = multi_host_url(primary, standby)
    env = azora_env(
        url,
        tmp_path / "data",
        AZORA_ANCHORING="on",
        AZORA_CHAIN_RPC_URL=anvil.rpc_url,
        AZORA_ANCHOR_INTERVAL_S="2",
    )
    upgraded = azora(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    server = start_server(env, pick_port(58000), tmp_path / "server.log")
    try:
        bank.open_bank(server.url, ADMIN_KEY, USERS)
        tally = bank.Tally()
        stop, threads = bank.run_clients(server.url, ADMIN_KEY, USERS, CLIENTS, tally, (0.2, 0.1))
        time.sleep(LOAD_BEFORE_S)
        acked_before = len(tally.acknowledged)
        killed_at = time.monotonic()
        primary.kill_hard()
        time.sleep(DETECT_S)
        standby.promote()
        promoted_at = time.monotonic()
        first_ack = wait_for_ack_after(tally, promoted_at, RESUME_TIMEOUT_S)
        time.sleep(LOAD_AFTER_S)
        stop.set()
        for thread in threads:
            thread.join(timeout=bank.GIVE_UP_AFTER_S)
        server_alive = server.process.poll() is None
        caught_up_s = server.wait_caught_up()
        audit = azora(
            env,
            "audit",
            "log",
            "--api",
            server.url,
            "--rpc",
            anvil.rpc_url,
            "--contract",
            server.token_address(),
        )
    finally:
        server.stop()

    engine = create_engine(standby.url.rsplit("/", 1)[0] + f"/{DATABASE}")
    findings = bank.check_database(engine, tally, USERS)
    with engine.connect() as conn:
        seqs = conn.execute(text("SELECT min(seq), max(seq), count(*) FROM entries")).one()
    engine.dispose()
    verify = azora(env, "ledger", "verify", "--quiet")
    acked_after = len(tally.acknowledged) - acked_before

    print("\n--- failover to the synchronous standby ---")
    print(
        f"primary port {primary.port} SIGKILLed, standby port {standby.port} promoted "
        f"{DETECT_S:.1f} s later; {CLIENTS} clients, {USERS} accounts"
    )
    print(
        f"acknowledged: {findings.acknowledged} ({acked_before} before the kill, "
        f"{acked_after} after), entries in the journal: {findings.entries}"
    )
    print(
        f"lost: {len(findings.lost)}, duplicated: {len(findings.duplicated)}, "
        f"negative: {len(findings.negative)}, unbalanced: {len(findings.unbalanced)}"
    )
    print(
        f"retried (indeterminate answers): {dict(tally.retries)}; replays answered: "
        f"{tally.replays}; given up: {tally.gave_up}; refused: {dict(tally.refused)}"
    )
    if first_ack is not None:
        print(
            f"writes resumed {first_ack - promoted_at:.2f} s after the promote "
            f"({first_ack - killed_at:.2f} s after the kill), with no restart"
        )
    print(
        f"seq {seqs[0]}..{seqs[1]}, {seqs[2]} entries; azora ledger verify: "
        f"{verify.stdout.strip().splitlines()[-1] if verify.stdout else verify.stderr}"
    )

    audit_said = audit.stdout.strip().splitlines()[-1] if audit.stdout else audit.stderr
    print(f"anchoring caught up {caught_up_s} s after the load; azora audit log: {audit_said}")

    assert server_alive, "the server exited during the failover"
    assert caught_up_s is not None, "anchoring did not resume on the new primary"
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert first_ack is not None, "no write was acknowledged after the promote"
    assert acked_before > 0 and acked_after > 0
    assert findings.ok, findings
    assert tally.gave_up == 0
    assert (seqs[0], seqs[1]) == (1, seqs[2]), "seq has a gap"
    assert verify.returncode == 0, verify.stdout + verify.stderr
