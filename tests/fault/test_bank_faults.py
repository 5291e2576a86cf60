"""The bank test with faults (``make test-fault``).

Clients post random transfers, holds (posted or voided later) and reward events through the
HTTP API (two worker processes, anchoring on to a local anvil, PostgreSQL in a cluster this
test starts) while the test, one fault at a time:

- SIGKILLs a server worker (the server starts another),
- cuts every client connection mid-request, and withholds answers the server already sent
  (a TCP proxy between the clients and the server),
- pauses a database backend with SIGSTOP, then lets it go on,
- restarts PostgreSQL with an immediate shutdown (crash recovery on start).
- SIGKILLs anvil during anchoring and starts it again from its state file, losing the
  blocks since its last dump (anchors the worker saw confirmed may vanish: a rollback).

Indeterminate requests are sent again with the same idempotency key. At the end: totals
conserved, no user balance or available amount negative, every acknowledged entry exactly
once, every resolved hold resolved as answered, ``azora ledger verify`` clean, anchoring
caught up with the token log, and ``azora audit log`` valid against the chain.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chain.devchain import ANVIL_DEV_KEY
from tests.fault import bank
from tests.fault.conftest import Chain
from tests.fault.pgcluster import Cluster, init_primary, make_workdir, pick_port
from tests.fault.proxy import CuttingProxy
from tests.fault.server import ADMIN_KEY, JWT_SECRET, Server, azora, azora_env, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.fault]

USERS = 30
CLIENTS = 8
SETTLE_S = 4.0  # load between faults
PAUSE_S = 3.0  # how long a backend stays stopped
DROPPED_ANSWERS = 25
DATABASE = "azora"
SECRETS = {  # what the server holds; none may reach its log, whatever fails
    "admin key": ADMIN_KEY,
    "jwt secret": JWT_SECRET,
    "anchoring key": ANVIL_DEV_KEY,
    "anchoring key (no 0x)": ANVIL_DEV_KEY[2:],
}


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    workdir = make_workdir("azora-fault-")
    made: list[Cluster] = []
    try:
        made.append(init_primary(workdir, pick_port(55432)))
        made[0].psql(f"CREATE DATABASE {DATABASE}")
        yield made[0]
    finally:
        for each in made:
            each.remove()
        shutil.rmtree(workdir, ignore_errors=True)


class Faults:
    """The faults, each injected under load and written down as it happens."""

    def __init__(self, server: Server, cluster: Cluster, proxy: CuttingProxy, chain: Chain) -> None:
        self.server, self.cluster, self.proxy, self.chain = server, cluster, proxy, chain
        self.injected: list[str] = []

    def note(self, what: str) -> None:
        self.injected.append(what)
        print(f"  injected: {what}", flush=True)

    def kill_worker(self) -> None:
        before = self.server.workers()
        pid = self.server.kill_worker()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = self.server.workers()
            if len(now) >= len(before) and pid not in now:
                break
            time.sleep(0.2)
        self.note(f"SIGKILL of server worker {pid}; workers now {self.server.workers()}")

    def cut_connections(self) -> None:
        self.proxy.drop_answers(DROPPED_ANSWERS)
        cut = self.proxy.cut_all()
        self.note(
            f"cut {cut} client connections mid-request; withholding the next "
            f"{DROPPED_ANSWERS} answers"
        )

    def pause_backend(self) -> None:
        backends = self.cluster.client_backends(DATABASE)
        pid, state, query = backends[0]
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSE_S)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.note(f"SIGSTOP of backend {pid} ({state}: {query!r}) for {PAUSE_S:.0f} s")

    def restart_chain(self) -> None:
        started = time.monotonic()
        self.chain.kill_and_restart()
        self.note(
            f"SIGKILL of anvil and a restart from its state file, losing the blocks since "
            f"its last dump ({time.monotonic() - started:.1f} s)"
        )

    def restart_database(self) -> None:
        started = time.monotonic()
        self.cluster.restart_hard()
        self.note(f"PostgreSQL immediate shutdown and restart ({time.monotonic() - started:.1f} s)")


def check_holds(cluster: Cluster, tally: bank.Tally) -> list[str]:
    """Every hold a client saw resolved is resolved that way, once."""
    engine = create_engine(cluster.url.rsplit("/", 1)[0] + f"/{DATABASE}")
    with engine.connect() as conn:
        resolved: dict[str, str] = dict(
            conn.execute(text("SELECT hold_id, type FROM entries WHERE hold_id IS NOT NULL")).all()
        )
    engine.dispose()
    want = {"posted": "post_pending", "voided": "void_pending"}
    return [
        f"hold {h}: answered {s}, journal {resolved.get(h)}"
        for h, s in tally.holds.items()
        if resolved.get(h) != want.get(s)
    ]


def test_the_bank_survives_faults(cluster: Cluster, anvil: Chain, tmp_path: Path) -> None:
    url = cluster.url.rsplit("/", 1)[0] + f"/{DATABASE}"
    env = azora_env(
        url,
        tmp_path / "data",
        AZORA_ANCHORING="on",
        AZORA_CHAIN_RPC_URL=anvil.rpc_url,
        AZORA_LOG_FORMAT="json",
        AZORA_ANCHOR_INTERVAL_S="2",
    )
    assert azora(env, "db", "upgrade").returncode == 0
    server = start_server(env, pick_port(58000), tmp_path / "server.log")
    proxy = CuttingProxy(pick_port(58100), int(server.url.rsplit(":", 1)[1]))
    base = f"http://127.0.0.1:{proxy.port}"
    faults = Faults(server, cluster, proxy, anvil)
    schedule: list[Callable[[], None]] = [
        faults.kill_worker,
        faults.cut_connections,
        faults.pause_backend,
        faults.restart_database,
        faults.restart_chain,
        faults.cut_connections,
        faults.kill_worker,
    ]
    try:
        bank.open_bank(server.url, ADMIN_KEY, USERS)
        tally = bank.Tally()
        print("\n--- bank test with faults ---")
        stop, threads = bank.run_clients(base, ADMIN_KEY, USERS, CLIENTS, tally, (0.25, 0.25))
        for inject in schedule:
            time.sleep(SETTLE_S)
            inject()
        time.sleep(SETTLE_S)
        stop.set()
        for thread in threads:
            thread.join(timeout=bank.GIVE_UP_AFTER_S)
        alive = server.process.poll() is None
        caught_up_s = server.wait_caught_up()
        contract = server.token_address()
        audit = azora(
            env,
            "audit",
            "log",
            "--api",
            server.url,
            "--rpc",
            anvil.rpc_url,
            "--contract",
            contract,
        )
    finally:
        proxy.close()
        server.stop()
    log_text = server.log()

    engine = create_engine(url)
    findings = bank.check_database(engine, tally, USERS)
    engine.dispose()
    holds = check_holds(cluster, tally)
    verify = azora(env, "ledger", "verify", "--quiet")

    print(
        f"clients: {CLIENTS}, accounts: {USERS}; acknowledged {findings.acknowledged} "
        f"requests, {len(tally.holds)} holds resolved, {findings.entries} entries"
    )
    print(
        f"indeterminate answers retried with the same key: {dict(tally.retries)}; "
        f"replays answered: {tally.replays}; given up: {tally.gave_up}"
    )
    print(f"refused (definite 4xx): {dict(tally.refused)}")
    print(
        f"checked: lost {len(findings.lost)}, duplicated {len(findings.duplicated)}, "
        f"negative {len(findings.negative)}, unbalanced {len(findings.unbalanced)}, "
        f"holds wrong {len(holds)}"
    )
    print(
        f"checked: server alive {alive}; anchoring caught up after {caught_up_s} s; "
        f"azora ledger verify: {verify.stdout.strip().splitlines()[-1]}"
    )
    audit_said = audit.stdout.strip().splitlines()[-1] if audit.stdout else audit.stderr
    print(f"checked: azora audit log: {audit_said}")

    alerts = re.findall(r"ALERT anchoring ([a-z-]+)", log_text)
    print(
        f"seen: anchoring alerts raised {alerts or 'none'}, healed "
        f"{log_text.count('anchoring healed')} time(s)"
    )
    leaked = [name for name, secret in SECRETS.items() if secret.lower() in log_text.lower()]
    print(f"checked: secrets in the server log through every fault: {leaked or 'none'}")

    assert alive, "the server exited"
    assert not leaked, leaked
    assert findings.ok, findings
    assert not holds, holds
    assert tally.gave_up == 0
    assert not [r for r in tally.retries if r.startswith("http 500")], "a fault answered 500"
    assert sum(tally.retries.values()) > 0, "no fault reached a client"
    assert tally.replays > 0, "no withheld answer was replayed"
    assert verify.returncode == 0, verify.stdout
    assert caught_up_s is not None, "anchoring did not catch up"
    assert audit.returncode == 0, audit.stdout + audit.stderr
