"""The token log: AZR events become gapless leaves whose proofs verify, on both back ends."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import Engine, text

from ledger import Account, Ledger, NewEntry, Posting
from ledger.merkle import leaf_hash, root, verify_consistency, verify_inclusion
from ledger.tokenlog import TokenLog
from ledger.verify import verify
from tests.integration.ledgerkit import move, open_accounts

pytestmark = pytest.mark.integration

TOKEN = 10**18


def _azr_world(book: Ledger, *users: str) -> None:
    open_accounts(book, *users, asset="AZR", world="platform:azr:pool")


def test_only_token_events_become_leaves_in_commit_order(book: Ledger, engine: Engine) -> None:
    _azr_world(book, "user:1:azr", "user:2:azr")
    open_accounts(book, "user:1:usd", world="world:card")
    earn = move(book, "platform:azr:pool", "user:1:azr", 5 * TOKEN, asset="AZR").entry
    move(book, "world:card", "user:1:usd", 999)  # USD: no leaf
    hold = move(book, "user:1:azr", "user:2:azr", TOKEN, asset="AZR", pending=True).entry
    posted = book.resolve_hold(hold.id, "post").resolution
    assert posted is not None
    log = TokenLog(engine)
    assert log.size() == 3
    leaves = log.leaves(0, 10)
    assert [leaf.entry_id for leaf in leaves] == [earn.id, hold.id, posted.id]
    assert [leaf.leaf_index for leaf in leaves] == [0, 1, 2]
    first = json.loads(leaves[0].leaf)
    assert first == {
        "entry_id": earn.id,
        "seq": earn.seq,
        "kind": "transfer",
        "event": "posted",
        "postings": [
            {
                "source": "platform:azr:pool",
                "destination": "user:1:azr",
                "asset": "AZR",
                "amount": str(5 * TOKEN),
            }
        ],
    }
    # Canonical: sorted keys, no whitespace, integers and strings only.
    assert leaves[0].leaf == json.dumps(first, sort_keys=True, separators=(",", ":")).encode()
    assert json.loads(leaves[2].leaf)["hold_id"] == hold.id
    assert json.loads(leaves[2].leaf)["event"] == "post_pending"
    assert all(leaf.leaf_hash == leaf_hash(leaf.leaf) for leaf in leaves)


def test_roots_and_proofs_verify_at_every_size(book: Ledger, engine: Engine) -> None:
    _azr_world(book, "user:1:azr")
    for i in range(23):
        move(book, "platform:azr:pool", "user:1:azr", i + 1, asset="AZR")
    log = TokenLog(engine)
    hashes = [leaf.leaf_hash for leaf in log.leaves(0, 100)]
    for size in range(1, 24):
        want = root(hashes[:size])
        assert log.root(size) == want
        for index in range(size):
            proof = log.inclusion_proof(index, size)
            assert verify_inclusion(index, size, hashes[index], proof, want)
        for old in range(1, size + 1):
            proof = log.consistency_proof(old, size)
            assert verify_consistency(old, size, log.root(old), want, proof)
    with pytest.raises(ValueError):
        log.root(24)


def test_concurrent_writers_keep_the_log_gapless(engine: Engine) -> None:
    with Ledger(engine) as book:
        _azr_world(book, *(f"user:{i}:azr" for i in range(8)))

        def earn(worker: int) -> None:
            for n in range(15):
                book.post_entry(
                    NewEntry(
                        "reward.earned",
                        (Posting("platform:azr:pool", f"user:{worker}:azr", "AZR", n + 1),),
                    ),
                    idempotency_key=f"w{worker}-{n}",
                )

        threads = [threading.Thread(target=earn, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    log = TokenLog(engine)
    leaves = log.leaves(0, 1000)
    assert [leaf.leaf_index for leaf in leaves] == list(range(120))
    assert [leaf.seq for leaf in leaves] == sorted(leaf.seq for leaf in leaves)
    assert log.root(120) == root([leaf.leaf_hash for leaf in leaves])
    report = verify(engine)
    assert report.ok, report.problems


def test_verify_catches_a_rewritten_leaf_or_node(book: Ledger, engine: Engine) -> None:
    _azr_world(book, "user:1:azr")
    book.create_account(Account("user:2:azr", "AZR"))
    for i in range(5):
        move(book, "platform:azr:pool", "user:1:azr", i + 1, asset="AZR")
    assert verify(engine).ok
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER merkle_nodes_no_update"))
        conn.execute(
            text("UPDATE merkle_nodes SET hash = :h WHERE level = 1 AND idx = 0"), {"h": bytes(32)}
        )
    report = verify(engine)
    assert not report.ok
    assert any("Merkle nodes at level 1" in p for p in report.problems)
