"""Anchoring after the chain lost a confirmed anchor (a reorg, a node restarted from an older
state file): never a proof against it, an alert while it lasts, and healed by itself.

Before: the table kept the vanished anchor ``confirmed`` (proofs were served against an
anchor the chain did not have, /readyz said ok), the next anchor of that size hit the
table's unique index every round, and a transaction behind the lost nonce was re-sent
forever. Real anvil and PostgreSQL; each test has its own node.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from azora.asgi import app_for
from azora.bootstrap import build
from azora.settings import Settings
from chain.anchoring import AnchorSettings, AnchorWorker
from chain.audit import Verdict, audit_entry
from chain.localnode import LocalNode, start_anvil
from chain.proofs import NotAnchored
from chain.runtime import ChainConfig, ChainRuntime
from chain.sender import TxSettings
from chain.tables import anchors, chain_alerts
from ledger import Ledger
from tests.integration.anchoring.conftest import earn as _earn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TX = TxSettings(poll_interval_s=0.005, receipt_timeout_s=20.0)
ROUNDS_MAX = 30


def _runtime(engine: Engine, rpc_url: str, token: str | None = None) -> ChainRuntime:
    runtime = ChainRuntime(
        engine, ChainConfig(rpc_url, token_address=token, tx=TX, gap_grace_s=0.0)
    )
    runtime.deploy()
    return runtime


def _worker(runtime: ChainRuntime) -> AnchorWorker:
    return runtime.anchor_worker(AnchorSettings(interval_s=3600))


def _rpc(runtime: ChainRuntime, method: str, *params: Any) -> Any:
    reply = runtime.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    return reply["result"]


def _heal(worker: AnchorWorker, runtime: ChainRuntime) -> list[str]:
    """Rounds until the health is ok again; the actions seen."""
    actions = []
    for _ in range(ROUNDS_MAX):
        actions.append(worker.run_once().action)
        if runtime.health().status == "ok":
            return actions
    pytest.fail(f"anchoring did not heal: {actions} {runtime.health().as_json()}")


def _alert_kinds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(chain_alerts.c.kind).order_by(chain_alerts.c.id)).scalars())


def _readyz(runtime: ChainRuntime, book: Ledger, rpc_url: str) -> tuple[int, dict[str, Any]]:
    response = TestClient(_app_with(runtime, book, rpc_url)).get("/readyz")
    return response.status_code, response.json()


def test_a_reorg_that_drops_a_confirmed_anchor_is_reconciled_and_healed(
    pg: Engine, node: LocalNode
) -> None:
    runtime = _runtime(pg, node.rpc_url)
    worker = _worker(runtime)
    with Ledger(pg) as book:
        ids = _earn(book, 1, 3)
        assert worker.run_once(now=True).action == "anchored"
        snapshot = _rpc(runtime, "evm_snapshot")
        ids += _earn(book, 2, 2)
        assert worker.run_once(now=True).action == "anchored"
        before = runtime.token.anchor_at(1)
        assert runtime.proofs().entry_proof(ids[-1], retry_after_s=1)["anchor"]["index"] == 1
        assert _readyz(runtime, book, node.rpc_url)[0] == 200

        assert _rpc(runtime, "evm_revert", snapshot)  # the block holding anchor 1 is gone
        assert runtime.token.anchor_count() == 1
        # Not yet reconciled: the table still says confirmed, but no proof is served on it.
        proofs = runtime.proofs()
        with pytest.raises(NotAnchored):
            proofs.entry_proof(ids[-1], retry_after_s=1)
        early = proofs.entry_proof(ids[0], retry_after_s=1)
        assert early["anchor"]["index"] == 0
        assert audit_entry(early, runtime.token).verdict is Verdict.VALID

        first = worker.run_once()
        assert first.action in ("resubmitted", "anchored", "waiting"), first
        assert "rollback" in _alert_kinds(pg)
        actions = _heal(worker, runtime)
        assert _readyz(runtime, book, node.rpc_url)[0] == 200, actions
        # The very same transaction was sent again and landed at the same index.
        assert runtime.token.anchor_count() == 2
        again = runtime.token.anchor_at(1)
        assert (again.tree_size, again.root) == (before.tree_size, before.root)
        late = runtime.proofs().entry_proof(ids[-1], retry_after_s=1)
        assert late["anchor"]["index"] == 1
        assert audit_entry(late, runtime.token).verdict is Verdict.VALID
    with pg.connect() as conn:
        rows = [
            (r.tree_size, r.status) for r in conn.execute(select(anchors).order_by(anchors.c.id))
        ]
    assert rows == [(3, "confirmed"), (5, "confirmed")]


def test_readyz_reports_the_rollback_until_it_is_healed(pg: Engine, node: LocalNode) -> None:
    runtime = _runtime(pg, node.rpc_url)
    worker = _worker(runtime)
    with Ledger(pg) as book:
        _earn(book, 1, 2)
        worker.run_once(now=True)
        snapshot = _rpc(runtime, "evm_snapshot")
        _earn(book, 2, 2)
        worker.run_once(now=True)
        _rpc(runtime, "evm_revert", snapshot)
        _rpc(runtime, "anvil_setAutomine", False)  # the re-sent anchor waits in the pool
        worker.run_once()
        status, body = _readyz(runtime, book, node.rpc_url)
        # Degraded, still ready: the API serves while anchoring heals.
        assert status == 200 and body["status"] == "degraded", body
        assert body["anchoring"]["status"] == "degraded"
        assert body["checks"]["anchor_lag"]["status"] == "degraded"
        assert [a["kind"] for a in body["anchoring"]["alerts"]] == ["rollback"]
        metrics = TestClient(_app_with(runtime, book, node.rpc_url)).get("/metrics").text
        assert 'azora_anchoring_alert{kind="rollback"} 1' in metrics
        _rpc(runtime, "anvil_setAutomine", True)
        _rpc(runtime, "evm_mine")
        _heal(worker, runtime)
        status, body = _readyz(runtime, book, node.rpc_url)
        assert status == 200 and body["anchoring"]["alerts"] == [], body
        assert body["status"] == "ok" and body["checks"]["anchor_lag"]["status"] == "ok", body


def _app_with(runtime: ChainRuntime, book: Ledger, rpc_url: str) -> FastAPI:
    """The service's app over the test's runtime (its lifespan, hence its jobs, not run)."""
    url = book.engine.url.render_as_string(hide_password=False)
    settings = Settings(
        database_url=url, anchoring=True, chain_rpc_url=rpc_url, jwt_secret="j" * 40
    )
    return app_for(build(settings, chain=runtime))


def test_a_nonce_gap_left_by_a_vanished_transaction_is_closed(pg: Engine, node: LocalNode) -> None:
    """Anchor, an unrecorded transaction, anchor; the chain loses all three. A restarted
    process sends the first anchor again; the second waits behind a nonce nobody can send
    any more: the gap is filled with a no-op and the second anchor lands."""
    first = _runtime(pg, node.rpc_url)
    worker = _worker(first)
    with Ledger(pg) as book:
        _earn(book, 1, 2)
        snapshot = _rpc(first, "evm_snapshot")
        assert worker.run_once(now=True).action == "anchored"
        first.token.approve("0x" + "ab" * 20, 1)  # in no table: nobody will send it again
        _earn(book, 2, 2)
        assert worker.run_once(now=True).action == "anchored"
        nonces = first.sender.confirmed_nonce()
        _rpc(first, "evm_revert", snapshot)
        assert first.token.anchor_count() == 0

        restarted = _runtime(pg, node.rpc_url, token=first.token.address)
        again = _worker(restarted)
        actions = _heal(again, restarted)
        assert restarted.token.anchor_count() == 2, actions
        assert restarted.sender.confirmed_nonce() == nonces  # the no-op took the lost nonce
        kinds = _alert_kinds(pg)
        assert "rollback" in kinds and "nonce-gap" in kinds, kinds
    with pg.connect() as conn:
        statuses = {r.status for r in conn.execute(select(anchors))}
    assert statuses == {"confirmed"}


def test_a_node_killed_after_an_anchor_and_restarted_from_its_state_file(
    pg: Engine, tmp_path: Path
) -> None:
    state = tmp_path / "chain" / "state.json"
    node = start_anvil(state_path=state)
    port = node.port
    runtime = _runtime(pg, node.rpc_url)
    worker = _worker(runtime)
    with Ledger(pg) as book:
        ids = _earn(book, 1, 2)
        assert worker.run_once(now=True).action == "anchored"
        node.stop()  # dumps its state: anchor 0 is in the file
        saved = tmp_path / "state-with-anchor-0.json"
        shutil.copy(state, saved)
        node = start_anvil(port, state_path=state)
        ids += _earn(book, 2, 3)
        assert worker.run_once(now=True).action == "anchored"
        assert runtime.token.anchor_count() == 2
        os.kill(node.pid, signal.SIGKILL)  # killed right after the anchor was confirmed
        node.process.wait(timeout=30)
        shutil.copy(saved, state)  # what it had last written
        node = start_anvil(port, state_path=state)
        try:
            assert runtime.token.anchor_count() == 1
            with pytest.raises(NotAnchored):
                runtime.proofs().entry_proof(ids[-1], retry_after_s=1)
            _heal(worker, runtime)
            assert runtime.token.anchor_count() == 2
            proof = runtime.proofs().entry_proof(ids[-1], retry_after_s=1)
            assert audit_entry(proof, runtime.token).verdict is Verdict.VALID
        finally:
            node.stop()
