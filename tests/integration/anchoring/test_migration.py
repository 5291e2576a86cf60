"""Moving a deployment to the consistency-checking contract (contracts/README.md, "Migrating
an existing deployment"): the old contract's anchors stay verifiable with today's auditor,
the new contract starts with the whole log, and the two histories can be linked.

The old build is the artifact committed before ``anchor`` took a proof
(``AzoraToken-v1.json`` beside this file, ``anchor(uint64,bytes32)``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from chain.anchor_table import AnchorTable
from chain.anchoring import AnchorSettings
from chain.artifact import load_artifact
from chain.audit import Verdict, audit_entry, audit_log
from chain.connect import connect
from chain.localnode import LocalNode
from chain.proofs import Proofs
from chain.runtime import ChainConfig, ChainRuntime
from chain.sender import TxSettings
from chain.token import AzoraToken
from ledger import Ledger
from ledger.merkle import verify_consistency
from ledger.tokenlog import TokenLog
from tests.integration.anchoring.conftest import earn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

V1 = Path(__file__).resolve().parent / "AzoraToken-v1.json"
TX = TxSettings(poll_interval_s=0.005, receipt_timeout_s=20.0)


def _anchor_v1(old: AzoraToken, engine: Engine, size: int) -> None:
    """What the previous service did: anchor(size, root), no proof; its row recorded."""
    root = TokenLog(engine).root(size)
    result = old.wait(old.send("anchor", size, root), "anchor")
    index = old.anchor_count() - 1
    assert old.sender is not None
    table = AnchorTable(engine, old.sender.chain_id(), old.address, lambda: datetime.now(UTC))
    table.record_confirmed(index, size, root, result.tx_hash, result.block_number)


def test_the_old_contract_stays_verifiable_after_the_move(pg: Engine, node: LocalNode) -> None:
    v1 = load_artifact(V1)
    assert not any(item.get("name") == "verifyConsistency" for item in v1.abi)  # the old build
    runtime = ChainRuntime(pg, ChainConfig(node.rpc_url, tx=TX))
    old, _ = AzoraToken.deploy(
        runtime.w3, runtime.sender.account, sender=runtime.sender, artifact=v1
    )
    with Ledger(pg) as book:
        ids = earn(book, 1, 3)
        _anchor_v1(old, pg, 3)
        ids += earn(book, 2, 2)
        _anchor_v1(old, pg, 5)

        # The move: a new contract, the service restarted pointing at it.
        fresh, _ = AzoraToken.deploy(runtime.w3, runtime.sender.account, sender=runtime.sender)
        moved = ChainRuntime(pg, ChainConfig(node.rpc_url, token_address=fresh.address, tx=TX))
        ids += earn(book, 3, 2)
        worker = moved.anchor_worker(AnchorSettings(interval_s=3600))
        assert worker.run_once(now=True).action == "anchored"
        assert moved.token.anchor_at(0).tree_size == 7  # the whole log, empty proof

        # An auditor with today's tools (the current ABI) checks proofs on both contracts.
        auditor = connect(node.rpc_url)
        saved = Proofs(pg, contract=old.address).entry_proof(ids[1], retry_after_s=1)
        assert saved["anchor"]["contract"] == old.address
        assert audit_entry(saved, AzoraToken.at(auditor, old.address)).verdict is Verdict.VALID
        served = moved.proofs().entry_proof(ids[-1], retry_after_s=1)
        assert served["anchor"]["contract"] == fresh.address
        assert audit_entry(served, AzoraToken.at(auditor, fresh.address)).verdict is Verdict.VALID

        # audit log on the old contract: consistency proofs are served for its sizes too.
        api = moved.proofs()
        old_log = audit_log(AzoraToken.at(auditor, old.address), api.consistency)
        assert old_log.verdict is Verdict.VALID, old_log.reason

        # The bridge: the old contract's last head extends into the new one's first.
        last_old = AzoraToken.at(auditor, old.address).anchor_at(1)
        first_new = AzoraToken.at(auditor, fresh.address).anchor_at(0)
        bridge = api.consistency(last_old.tree_size, first_new.tree_size)
        proof = [bytes.fromhex(p[2:]) for p in bridge["proof"]]
        assert verify_consistency(
            last_old.tree_size, first_new.tree_size, last_old.root, first_new.root, proof
        )
