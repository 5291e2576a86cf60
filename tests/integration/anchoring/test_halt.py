"""An anchor the chain would refuse, or a log that no longer extends the anchored root, halts
anchoring with an alert until an operator resumes it: one check, never a retry storm.

The known limit of DESIGN §14 (a consistency proof does not pin the new size) is guarded
here too: the worker never sends a size its root does not pin.
"""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import Engine, func, select

from chain.anchoring import AnchorSettings, AnchorWorker
from chain.health import HALTING
from chain.localnode import LocalNode
from chain.runtime import ChainConfig, ChainRuntime
from chain.sender import TxSettings
from chain.tables import anchors, chain_alerts
from chain.token import ANCHOR_ROLE
from ledger import Ledger
from tests.integration.anchoring.conftest import earn as _earn
from tests.integration.anchoring.conftest import rewrite_first_leaf

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def runtime(pg: Engine, node: LocalNode) -> ChainRuntime:
    tx = TxSettings(poll_interval_s=0.005, receipt_timeout_s=20.0)
    chain = ChainRuntime(pg, ChainConfig(node.rpc_url, tx=tx))
    chain.deploy()
    return chain


def _worker(runtime: ChainRuntime) -> AnchorWorker:
    return runtime.anchor_worker(AnchorSettings(interval_s=3600))


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_refused_anchor_halts_until_the_operator_resumes(
    pg: Engine, runtime: ChainRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    worker = _worker(runtime)
    admin = runtime.sender.address
    with Ledger(pg) as book:
        _earn(book, 1, 3)
        runtime.token.revoke_role(ANCHOR_ROLE, admin)  # the contract now refuses this key
        with caplog.at_level(logging.ERROR, logger="chain.anchoring"):
            halted = worker.run_once(now=True)
        assert halted.action == "halted" and "AccessControlUnauthorizedAccount" in halted.detail
        assert "ALERT anchoring refused" in caplog.text
        assert _count(pg, anchors) == 0  # refused in simulation: nothing signed or sent
        health = runtime.health()
        assert health.status == "halted" and [a.kind for a in health.alerts] == ["refused"]

        # A running loop does not retry: it waits for the operator.
        stop = threading.Event()
        loop = threading.Thread(target=worker.run_forever, args=(stop, 0.01))
        nonce = runtime.sender.confirmed_nonce()
        loop.start()
        stop.wait(0.5)
        stop.set()
        loop.join(timeout=10)
        assert runtime.sender.confirmed_nonce() == nonce
        assert _count(pg, chain_alerts) == 1 and _count(pg, anchors) == 0

        runtime.token.grant_role(ANCHOR_ROLE, admin)  # the operator fixes the cause...
        assert worker.run_once(now=True).action == "halted"  # ...and still has to resume
        assert worker.resume() == 1
        assert worker.run_once(now=True).action == "anchored"
        assert runtime.health().status == "ok"


def test_a_rewritten_log_halts_anchoring(pg: Engine, runtime: ChainRuntime) -> None:
    worker = _worker(runtime)
    with Ledger(pg) as book:
        _earn(book, 1, 3)
        assert worker.run_once(now=True).action == "anchored"
        rewrite_first_leaf(pg, b'"seq":', b'"forged":1,"seq":')
        _earn(book, 2, 2)
        halted = worker.run_once(now=True)
        assert halted.action == "halted" and "inconsistent-log" in halted.detail
        assert worker.run_once(now=True).action == "halted"
        assert runtime.token.anchor_count() == 1
        assert [a.kind for a in runtime.health().alerts] == ["inconsistent-log"]
        assert set(HALTING) >= {a.kind for a in runtime.health().alerts}


def test_the_worker_never_sends_a_size_its_root_does_not_pin(
    pg: Engine, runtime: ChainRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log claims 42 leaves but the root and proof are those of 41: a consistency proof
    alone would pass (40 -> 41 also verifies for 42..48), the last leaf's inclusion does not."""
    worker = _worker(runtime)
    with Ledger(pg) as book:
        _earn(book, 1, 40)
        assert worker.run_once(now=True).action == "anchored"
        _earn(book, 2, 2)
        log = worker.log
        honest_root, honest_proof = log.root, log.consistency_proof
        monkeypatch.setattr(log, "root", lambda n: honest_root(41 if n == 42 else n))
        monkeypatch.setattr(
            log, "consistency_proof", lambda m, n: honest_proof(m, 41 if n == 42 else n)
        )
        halted = worker.run_once(now=True)
        assert halted.action == "halted" and "does not pin" in halted.detail, halted
        assert runtime.token.anchor_count() == 1
        assert _count(pg, anchors) == 1  # nothing signed for 42
