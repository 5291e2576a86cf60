"""Anchoring over a real PostgreSQL and a real anvil (its own node per test, stopped by PID)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from chain.localnode import LocalNode, start_anvil
from ledger import Account, Ledger, NewEntry, Posting
from ledger.merkle import CompactRange, leaf_hash
from ledger.store.engine import make_engine
from ledger.tokenlog import TokenLog

POOL = "platform:azr:rewards"


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def node() -> Iterator[LocalNode]:
    started = start_anvil()
    yield started
    started.stop()


def earn(book: Ledger, user: int, n: int) -> list[str]:
    """``n`` reward entries for ``user`` (one token-log leaf each); their entry ids."""
    book.create_account(Account(POOL, "AZR", allow_negative=True))
    book.create_account(Account(f"user:{user}:azr", "AZR"))
    ids = []
    for i in range(n):
        posted = book.post_entry(
            NewEntry(
                "reward.earned", (Posting(POOL, f"user:{user}:azr", "AZR", (i + 1) * 10**18),)
            ),
            idempotency_key=f"earn-{user}-{i}",
        )
        ids.append(posted.entry.id)
    return ids


def rewrite_first_leaf(engine: Engine, old: bytes, new: bytes) -> bytes:
    """Replace ``old`` by ``new`` in the first token event behind the application's back,
    and rebuild the Merkle nodes over the forged leaves so every served proof is
    self-consistent (PostgreSQL: the append-only triggers are bypassed). The forged leaf."""
    log = TokenLog(engine)
    leaves = log.leaves(0, 1000)
    forged = leaves[0].leaf.replace(old, new)
    assert forged != leaves[0].leaf
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text("UPDATE token_leaves SET leaf = :l, leaf_hash = :h WHERE leaf_index = 0"),
            {"l": forged.decode(), "h": leaf_hash(forged)},
        )
        conn.execute(text("DELETE FROM merkle_nodes"))
        frontier = CompactRange()
        rows = []
        for i, leaf in enumerate(leaves):
            digest = leaf_hash(forged) if i == 0 else leaf.leaf_hash
            rows += [{"l": n.level, "i": n.index, "h": n.hash} for n in frontier.append(digest)]
        conn.execute(text("INSERT INTO merkle_nodes (level, idx, hash) VALUES (:l, :i, :h)"), rows)
    return forged
