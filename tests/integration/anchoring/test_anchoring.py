"""Token log → anchor on a real anvil → proofs an independent auditor accepts (DESIGN §7).

PostgreSQL and anvil are real; each test gets its own node on a free port, stopped by PID.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from chain.anchoring import AnchorSettings, AnchorWorker
from chain.audit import Verdict, audit_entry, audit_log
from chain.errors import ChainError
from chain.localnode import LocalNode, start_anvil
from chain.proofs import NotAnchored, Proofs
from chain.runtime import ChainConfig, ChainRuntime
from chain.sender import TxSettings
from chain.tables import anchors
from chain.token import AzoraToken
from ledger import Ledger
from ledger.merkle import leaf_hash, root
from ledger.tokenlog import TokenLog
from tests.integration.anchoring.conftest import earn, rewrite_first_leaf

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUNTIMES: dict[int, ChainRuntime] = {}


def _runtime(engine: Engine, rpc_url: str, **config: Any) -> ChainRuntime:
    """The process's chain side, as the composition root builds it, with the token deployed."""
    runtime = ChainRuntime(engine, ChainConfig(rpc_url, **config))
    RUNTIMES[id(runtime.deploy())] = runtime
    return runtime


def _token(engine: Engine, rpc_url: str) -> AzoraToken:
    return _runtime(engine, rpc_url).token


_earn = earn


def _worker(engine: Engine, token: AzoraToken) -> AnchorWorker:
    return RUNTIMES[id(token)].anchor_worker(AnchorSettings(interval_s=3600))


def _corrupt(proof: dict[str, Any], how: str) -> dict[str, Any]:
    bad: dict[str, Any] = json.loads(json.dumps(proof))
    if how == "leaf":
        leaf = json.loads(bad["leaf"])
        leaf["postings"][0]["amount"] = str(int(leaf["postings"][0]["amount"]) * 2)
        bad["leaf"] = json.dumps(leaf, sort_keys=True, separators=(",", ":"))
        bad["leaf_hash"] = "0x" + leaf_hash(bad["leaf"].encode()).hex()  # consistent forgery
    elif how == "path":
        first = bytes.fromhex(bad["inclusion_proof"][0][2:])
        bad["inclusion_proof"][0] = "0x" + bytes([first[0] ^ 1, *first[1:]]).hex()
    elif how == "root":
        bad["root"] = "0x" + "11" * 32  # the auditor must ignore the API's root
        bad["tree_size"] = bad["tree_size"] + 1
    return bad


def test_anchor_then_proofs_pass_an_independent_audit(pg: Engine, node: LocalNode) -> None:
    token = _token(pg, node.rpc_url)
    with Ledger(pg) as book:
        ids = _earn(book, 1, 7)
        proofs = Proofs(pg, contract=token.address)
        with pytest.raises(NotAnchored) as waiting:
            proofs.entry_proof(ids[0], retry_after_s=5)
        assert waiting.value.retry_after_s == 5
        result = _worker(pg, token).run_once(now=True)
        assert (result.action, result.tree_size) == ("anchored", 7)
        assert _worker(pg, token).run_once(now=True).action == "idle"
        assert token.anchor_count() == 1
        for entry_id in ids:
            proof = proofs.entry_proof(entry_id, retry_after_s=5)
            assert proof["anchor"]["status"] == "confirmed"
            assert proof["anchor"]["index"] == 0
            verdict = audit_entry(proof, token)
            assert verdict.verdict is Verdict.VALID, verdict.reason
            assert token.verify_inclusion(
                0,
                proof["leaf_index"],
                bytes.fromhex(proof["leaf_hash"][2:]),
                [bytes.fromhex(p[2:]) for p in proof["inclusion_proof"]],
            )
        proof = proofs.entry_proof(ids[3], retry_after_s=5)
        reasons = {}
        for how in ("leaf", "path", "root"):
            verdict = audit_entry(_corrupt(proof, how), token)
            assert verdict.verdict is Verdict.INVALID, how
            reasons[how] = verdict.reason
        assert "path" in reasons["path"] or "root" in reasons["path"]
        assert "tree size" in reasons["root"]


def test_audit_log_passes_then_fails_after_history_is_rewritten(
    pg: Engine, node: LocalNode
) -> None:
    token = _token(pg, node.rpc_url)
    proofs = Proofs(pg, contract=token.address)
    with Ledger(pg) as book:
        for round_ in range(3):
            _earn(book, round_, 4)
            assert _worker(pg, token).run_once(now=True).action == "anchored"

    def fetch(old: int, new: int) -> dict[str, Any]:
        return proofs.consistency(old, new)

    assert token.anchor_count() == 3
    honest = audit_log(token, fetch)
    assert honest.verdict is Verdict.VALID, honest.reason
    # Rewrite the first token event behind the application's back, and rebuild the tree
    # over the forged leaves so every served proof is self-consistent.
    log = TokenLog(pg)
    leaves = log.leaves(0, 100)
    rewrite_first_leaf(pg, b'"amount":"1000000000000000000"', b'"amount":"9000000000000000000"')
    assert log.root(len(leaves)) != root([leaf.leaf_hash for leaf in leaves])
    rewritten = audit_log(token, fetch)
    assert rewritten.verdict is Verdict.INVALID
    assert "rewritten" in rewritten.reason

    def forged_proof(old: int, new: int) -> dict[str, Any]:
        body = fetch(old, new)
        body["from_root"] = "0x" + token.anchor_at(0 if old == 4 else 1).root.hex()
        body["to_root"] = "0x" + token.anchor_at(1 if old == 4 else 2).root.hex()
        body["proof"] = ["0x" + "22" * 32 for _ in body["proof"]]
        return body

    forged_result = audit_log(token, forged_proof)
    assert forged_result.verdict is Verdict.INVALID
    assert "not consistent" in forged_result.reason


def _azora(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "azora.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _anchor_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(anchors).order_by(anchors.c.id)))


def test_worker_killed_before_the_receipt_anchors_that_size_once(
    pg: Engine, pg_url: str, tmp_path: Path
) -> None:
    # No automatic mining: the anchor transaction waits in the pool until we mine.
    with start_anvil(extra_args=("--no-mining",)) as paused:
        w3 = paused.rpc_url
        token = _token_no_mining(pg, w3)
        with Ledger(pg) as book:
            _earn(book, 1, 5)
        env = {
            **os.environ,
            "AZORA_DATABASE_URL": pg_url,
            "AZORA_CHAIN_RPC_URL": w3,
            "AZORA_TOKEN_ADDRESS": token.address,
        }
        worker = _azora(env, "anchor", "--once", "--force")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = _anchor_rows(pg)
            if rows and rows[-1].status == "submitted":
                break
            time.sleep(0.05)
        else:
            worker.kill()
            pytest.fail(f"the worker never sent its anchor: {worker.communicate()[0]}")
        worker.send_signal(signal.SIGKILL)  # dies waiting for the receipt
        worker.wait(timeout=30)
        token.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        again = _azora(env, "anchor", "--once", "--force")
        out, _ = again.communicate(timeout=120)
        assert again.returncode == 0, out
        assert token.anchor_count() == 1
        assert token.anchor_at(0).tree_size == 5
        statuses = [(r.tree_size, r.status) for r in _anchor_rows(pg)]
        assert statuses == [(5, "confirmed")], statuses


def _token_no_mining(engine: Engine, rpc_url: str) -> AzoraToken:
    """Deploy on a node that mines only on request (evm_mine after each send)."""
    import threading

    stop = threading.Event()

    def miner() -> None:
        from chain.connect import connect

        w3 = connect(rpc_url)
        while not stop.is_set():
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            stop.wait(0.05)

    thread = threading.Thread(target=miner, daemon=True)
    thread.start()
    try:
        return _token(engine, rpc_url)
    finally:
        stop.set()
        thread.join()


def test_a_dropped_anchor_is_sent_again_with_the_same_nonce(pg: Engine) -> None:
    with start_anvil(extra_args=("--no-mining",)) as paused:
        token = _token_no_mining(pg, paused.rpc_url)
        with Ledger(pg) as book:
            _earn(book, 1, 3)
        worker = _worker(pg, token)
        assert token.sender is not None
        # Give up waiting for a receipt after 1 s (nothing is mined until we say so).
        token.sender.settings = TxSettings(receipt_timeout_s=1.0, poll_interval_s=0.05)
        first = worker.run_once(now=True)
        assert first.action == "waiting"
        (row,) = _anchor_rows(pg)
        assert row.status == "submitted"
        token.w3.provider.make_request("anvil_dropTransaction", [row.tx_hash])  # type: ignore[arg-type]
        assert worker.run_once().action == "resubmitted"
        token.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert worker.run_once().action == "confirmed"
        (again,) = _anchor_rows(pg)
        assert (again.status, again.tree_size) == ("confirmed", 3)
        assert (again.tx_hash, again.nonce) == (row.tx_hash, row.nonce)  # the same transaction
        assert token.anchor_count() == 1


def test_anchoring_resumes_after_the_node_was_down(pg: Engine, tmp_path: Path) -> None:
    state = tmp_path / "chain.json"
    first = start_anvil(state_path=state)
    port = first.port
    token = _token(pg, first.rpc_url)
    worker = _worker(pg, token)
    with Ledger(pg) as book:
        _earn(book, 1, 2)
        assert worker.run_once(now=True).action == "anchored"
        first.stop()  # the node goes away, with its state saved
        _earn(book, 2, 3)
        with pytest.raises(ChainError):
            worker.run_once(now=True)
    second = start_anvil(port, state_path=state)
    try:
        assert worker.run_once(now=True).action == "anchored"
        assert token.anchor_count() == 2
        assert [token.anchor_at(i).tree_size for i in range(2)] == [2, 5]
    finally:
        second.stop()


def test_finalized_mode_confirms_only_below_the_finalized_block(
    pg: Engine, node: LocalNode
) -> None:
    runtime = _runtime(pg, node.rpc_url, finalized=True)
    token = runtime.token
    worker = runtime.anchor_worker(AnchorSettings(interval_s=3600))
    with Ledger(pg) as book:
        _earn(book, 1, 4)
    first = worker.run_once(now=True)
    assert first.action == "waiting", first
    assert token.anchor_count() == 1  # mined on chain...
    with pg.connect() as conn:  # ...but not final: not confirmed, so no proof is served
        assert conn.execute(select(anchors.c.status)).scalar_one() == "submitted"
    assert Proofs(pg, contract=token.address).latest_confirmed() is None
    token.w3.provider.make_request("anvil_mine", [hex(100)])  # type: ignore[arg-type]
    assert worker.run_once().action == "confirmed"
    record = Proofs(pg, contract=token.address).latest_confirmed()
    assert record is not None and (record.tree_size, record.index) == (4, 0)
