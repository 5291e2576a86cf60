"""Signed checkpoints and receipts over a real database and a real anvil (DESIGN §14)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from azora.cli import main
from chain.audit import Verdict
from chain.localnode import LocalNode
from chain.receipts import audit_receipt
from ledger.merkle import leaf_hash
from ledger.tlog import default_origin
from tests.integration.anchoring.checkpointkit import (
    ADMIN,
    Service,
    serve,
    service,
    settings_for,
)
from tests.integration.anchoring.conftest import rewrite_first_leaf
from tests.unit.tlog import independent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`"),
]
__all__ = ["service"]  # the fixture


def _checkpoint(service: Service) -> tuple[str, str]:
    note = service.get("/v1/checkpoint")
    key = service.get("/v1/checkpoint/key")
    assert note.status_code == key.status_code == 200, (note.text, key.text)
    assert note.headers["content-type"].startswith("text/plain")
    assert key.headers["content-type"].startswith("text/plain")
    return note.text, key.text


def test_the_checkpoint_names_the_latest_confirmed_anchor(service: Service) -> None:
    waiting = service.get("/v1/checkpoint")
    assert waiting.status_code == 409
    assert waiting.json()["type"].endswith("not-anchored")
    assert int(waiting.headers["Retry-After"]) >= 1
    for n in (3, 2, 4):
        service.earn(n)
        service.anchor()
        note, key = _checkpoint(service)  # public: no credentials sent
        origin, size, root = independent.spec_verify_checkpoint(note, key)
        latest = service.token.anchor_at(service.token.anchor_count() - 1)
        assert (size, root) == (latest.tree_size, latest.root)
        assert origin == default_origin(service.token.w3.eth.chain_id, service.token.address)
        assert key.startswith(origin + "+")
    # Deterministic: the same anchor always gives the same bytes.
    assert service.get("/v1/checkpoint").text == note


def test_the_development_key_survives_a_restart_and_a_configured_one_is_used(
    db_url: str, node: LocalNode, tmp_path: Path
) -> None:
    keys = []
    for _ in range(2):
        for svc in serve(settings_for(db_url, node, tmp_path / "data")):
            if not svc.entry_ids and svc.token.anchor_count() == 0:
                svc.earn(2)
                svc.anchor()
            keys.append(_checkpoint(svc)[1])
    assert keys[0] == keys[1]
    assert (tmp_path / "data" / "log-signing-key").stat().st_mode & 0o077 == 0
    seed = bytes(range(32))
    configured = settings_for(
        db_url, node, tmp_path / "other", log_signing_key=seed.hex(), log_origin="example.com/log"
    )
    for svc in serve(configured):
        note, key = _checkpoint(svc)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert key == independent.spec_vkey("example.com/log", public)
    assert note.startswith("example.com/log\n")
    assert not (tmp_path / "other" / "log-signing-key").exists()


def _receipt(service: Service, entry_id: str) -> dict[str, Any]:
    made = service.get(f"/v1/proofs/entries/{entry_id}/receipt", headers=ADMIN)
    assert made.status_code == 200, made.text
    body: dict[str, Any] = made.json()
    return body


def test_a_receipt_is_self_contained_and_checks_offline_and_on_chain(service: Service) -> None:
    ids = service.earn(5)
    assert service.get(f"/v1/proofs/entries/{ids[0]}/receipt", headers=ADMIN).status_code == 409
    assert service.get(f"/v1/proofs/entries/{ids[0]}/receipt").status_code == 401
    service.anchor()
    for entry_id in ids:
        receipt = _receipt(service, entry_id)
        proof = service.get(f"/v1/proofs/entries/{entry_id}", headers=ADMIN).json()
        assert {k: receipt[k] for k in proof} == proof  # the §7 proof, unchanged
        assert receipt["checkpoint"] == service.get("/v1/checkpoint").text
        assert receipt["anchor"]["tx_hash"] and receipt["anchor"]["chain_id"] == 31337
        offline = audit_receipt(receipt)
        assert offline.verdict is Verdict.VALID, offline.reason
        assert "NOT consulted" in offline.reason
        online = audit_receipt(receipt, service.token, pinned_key=receipt["checkpoint_key"])
        assert online.verdict is Verdict.VALID, online.reason
        assert "anchored on chain 31337" in online.reason


def _tampered(receipt: dict[str, Any], how: str) -> dict[str, Any]:
    bad = copy.deepcopy(receipt)
    if how == "leaf":
        bad["leaf"] = bad["leaf"].replace('"seq":', '"seq":9')
        bad["leaf_hash"] = "0x" + leaf_hash(bad["leaf"].encode()).hex()
    elif how == "path":
        node = bad["inclusion_proof"][0]
        bad["inclusion_proof"][0] = node[:-1] + ("1" if node[-1] == "0" else "0")
    elif how == "checkpoint line":
        size = bad["tree_size"]
        bad["checkpoint"] = bad["checkpoint"].replace(f"\n{size}\n", f"\n{size + 1}\n")
        bad["tree_size"] = size + 1
    elif how == "signature":
        head, sig = bad["checkpoint"].rsplit(" ", 1)
        bad["checkpoint"] = head + " " + ("B" if sig[10] == "A" else "A").join((sig[:10], sig[11:]))
    elif how == "key":
        name, key_id, key = bad["checkpoint_key"].split("+", 2)
        bad["checkpoint_key"] = f"{name}+{key_id}+{key[:-3]}{'AAA' if key[-3:] != 'AAA' else 'BBB'}"
    elif how == "anchor index":
        bad["anchor"]["index"] += 1
    return bad


REASONS = {
    "leaf": "inclusion path",
    "path": "inclusion path",
    "checkpoint line": "does not verify",
    "signature": "does not verify",
    "key": "key was altered",
    "anchor index": "does not exist on chain",
}


def test_tampered_receipts_are_refused_with_the_reason(
    service: Service, node: LocalNode, tmp_path: Path
) -> None:
    ids = service.earn(6)
    service.anchor()
    receipt = _receipt(service, ids[2])
    runner = CliRunner()
    genuine = tmp_path / "receipt.json"
    genuine.write_text(json.dumps(receipt))
    offline = runner.invoke(main, ["audit", "receipt", str(genuine)])
    assert offline.exit_code == 0, offline.output
    assert "chain was NOT consulted" in offline.output
    online = runner.invoke(main, ["audit", "receipt", str(genuine), "--rpc", node.rpc_url])
    assert online.exit_code == 0, online.output
    assert "anchored on chain" in online.output
    for how, reason in REASONS.items():
        path = tmp_path / f"{how}.json"
        path.write_text(json.dumps(_tampered(receipt, how)))
        args = ["audit", "receipt", str(path), "--json"]
        if how == "anchor index":
            args += ["--rpc", node.rpc_url]
        refused = runner.invoke(main, args)
        assert refused.exit_code == 1, (how, refused.output)
        verdict = json.loads(refused.output)
        assert verdict["verdict"] == "invalid" and reason in verdict["reason"], (how, verdict)
    down = runner.invoke(main, ["audit", "receipt", str(genuine), "--rpc", "http://127.0.0.1:9"])
    assert down.exit_code == 2, down.output
    (tmp_path / "junk.json").write_text("{not json")
    assert runner.invoke(main, ["audit", "receipt", str(tmp_path / "junk.json")]).exit_code == 2


def test_a_receipt_for_another_deployment_is_refused(service: Service, node: LocalNode) -> None:
    ids = service.earn(2)
    service.anchor()
    receipt = _receipt(service, ids[0])
    other, _ = type(service.token).deploy(service.token.w3, service.container.chain.sender.account)
    moved = {**receipt, "anchor": {**receipt["anchor"], "contract": other.address}}
    refused = audit_receipt(moved, other)
    assert refused.verdict is Verdict.INVALID
    assert "the checkpoint is the log anchored on chain" in refused.reason


@pytest.fixture
def pg_service(pg_url: str, node: LocalNode, tmp_path: Path) -> Iterator[Service]:
    yield from serve(settings_for(pg_url, node, tmp_path / "data"))


def test_no_checkpoint_is_signed_once_the_log_is_rewritten(pg_service: Service) -> None:
    pg_service.earn(4)
    pg_service.anchor()
    assert pg_service.get("/v1/checkpoint").status_code == 200
    rewrite_first_leaf(
        pg_service.container.engine,
        b'"amount":"1000000000000000000"',
        b'"amount":"9000000000000000000"',
    )
    withheld = pg_service.get("/v1/checkpoint")
    assert withheld.status_code == 503, withheld.text
    assert "is not the root anchored" in withheld.json()["detail"]
    receipt = pg_service.get(f"/v1/proofs/entries/{pg_service.entry_ids[1]}/receipt", headers=ADMIN)
    assert receipt.status_code == 503
