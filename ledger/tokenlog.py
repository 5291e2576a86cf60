"""The token log: every journal event that moves AZR, as leaves of an RFC 9162 Merkle tree.

Appended by the journal writer's batch hook, in the same transaction as the events, in
commit (``seq``) order, at a gapless ``leaf_index``: the writer holds the journal head lock,
so no two batches append at once. Besides each leaf, the hook stores the hashes of the
perfect subtrees the new leaves complete (``merkle_nodes``), so a root of any past size,
an inclusion proof or a consistency proof costs one query of O(log n) rows.

Leaf bytes (DESIGN §7) are canonical JSON of strings and integers only::

    {"entry_id": "...", "event": "posted", "kind": "reward.earned", "seq": 42,
     "postings": [{"amount": "5000000000000000000", "asset": "AZR", "destination": "...",
                   "source": "..."}], "hold_id": "..." (resolutions only)}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select, tuple_

from ledger.canonical import canonical_json
from ledger.errors import NotFound
from ledger.merkle import (
    CompactRange,
    NodeId,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    range_nodes,
    root_at,
)
from ledger.model import Entry
from ledger.money import AZR
from ledger.store.bulk import insert_rows
from ledger.store.tables import merkle_nodes, token_leaves


def moves_tokens(entry: Entry) -> bool:
    return any(p.asset == AZR.code for p in entry.postings)


def leaf_bytes(entry: Entry) -> bytes:
    """The canonical leaf of one journal event (strings and integers only)."""
    leaf: dict[str, object] = {
        "entry_id": entry.id,
        "seq": entry.seq,
        "kind": entry.kind,
        "event": entry.type.value,
        "postings": [p.as_json() for p in entry.postings],
    }
    if entry.hold_id is not None:
        leaf["hold_id"] = entry.hold_id
    if entry.reverses_id is not None:
        leaf["reverses_id"] = entry.reverses_id
    return canonical_json(leaf, checked=True)


@dataclass(frozen=True, slots=True)
class Leaf:
    leaf_index: int
    seq: int
    entry_id: str
    leaf: bytes
    leaf_hash: bytes


def _fetch_nodes(conn: Connection, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    if not ids:
        return {}
    keys = sorted({(i.level, i.index) for i in ids})
    rows = conn.execute(
        select(merkle_nodes).where(tuple_(merkle_nodes.c.level, merkle_nodes.c.idx).in_(keys))
    )
    found = {NodeId(r.level, r.idx): bytes(r.hash) for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise LookupError(f"token log: stored Merkle nodes missing: {missing[:4]}")
    return found


def _size(conn: Connection) -> int:
    top = conn.execute(select(func.max(token_leaves.c.leaf_index))).scalar_one()
    return 0 if top is None else int(top) + 1


@dataclass(frozen=True, slots=True)
class LogState:
    """The log's size and the stored hashes of its frontier: what an append needs."""

    size: int
    nodes: Mapping[tuple[int, int], bytes]  # (level, idx) -> hash, for frontier_ids()

    def frontier_ids(self) -> list[NodeId]:
        return range_nodes(0, self.size)


LeafRow = tuple[int, int, str, str, bytes]  # leaf_index, seq, entry_id, leaf, leaf_hash
NodeRow = tuple[int, int, bytes]  # level, idx, hash


def log_rows(state: LogState, new_entries: Sequence[Entry]) -> tuple[list[LeafRow], list[NodeRow]]:
    """The leaves and Merkle nodes that appending the AZR-moving ``new_entries`` adds.

    Pure. Precondition: ``state`` is the log as of the batch (read under the head lock).
    """
    events = [e for e in new_entries if moves_tokens(e)]
    if not events:
        return [], []
    frontier = CompactRange.from_store(state.size, lambda level, index: state.nodes[(level, index)])
    leaves: list[LeafRow] = []
    nodes: list[NodeRow] = []
    for offset, entry in enumerate(events):
        data = leaf_bytes(entry)
        digest = leaf_hash(data)
        leaves.append((state.size + offset, entry.seq, entry.id, data.decode(), digest))
        nodes.extend((n.level, n.index, n.hash) for n in frontier.append(digest))
    return leaves, nodes


def load_log_state(conn: Connection) -> LogState:
    size = _size(conn)
    known = _fetch_nodes(conn, range_nodes(0, size))
    return LogState(size, {(i.level, i.index): h for i, h in known.items()})


def append_hook(conn: Connection, new_entries: Sequence[Entry]) -> None:
    """Append the token-moving events of a batch to the log (the SQLAlchemy path).

    Precondition: called inside the writer's transaction, under the journal head lock.
    """
    if not any(moves_tokens(e) for e in new_entries):
        return
    leaves, nodes = log_rows(load_log_state(conn), new_entries)
    insert_rows(
        conn,
        token_leaves,
        [
            dict(zip(("leaf_index", "seq", "entry_id", "leaf", "leaf_hash"), r, strict=True))
            for r in leaves
        ],
    )
    insert_rows(conn, merkle_nodes, [{"level": r[0], "idx": r[1], "hash": r[2]} for r in nodes])


class TokenLog:
    """Reads of the token log: sizes, leaves, roots and proofs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def size(self) -> int:
        with self.engine.connect() as conn:
            return _size(conn)

    def leaf_of_entry(self, entry_id: str) -> Leaf:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(token_leaves).where(token_leaves.c.entry_id == entry_id)
            ).first()
        if row is None:
            raise NotFound(f"entry {entry_id!r} moves no AZR or does not exist")
        return Leaf(row.leaf_index, row.seq, row.entry_id, row.leaf.encode(), bytes(row.leaf_hash))

    def leaves(self, start: int, limit: int) -> list[Leaf]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(token_leaves)
                .where(token_leaves.c.leaf_index >= start)
                .order_by(token_leaves.c.leaf_index)
                .limit(limit)
            )
            return [
                Leaf(r.leaf_index, r.seq, r.entry_id, r.leaf.encode(), bytes(r.leaf_hash))
                for r in rows
            ]

    def root(self, size: int) -> bytes:
        """Root of the first ``size`` leaves. Precondition: ``0 <= size <= self.size()``."""
        with self.engine.connect() as conn:
            _check_size(conn, size)
            known = _fetch_nodes(conn, range_nodes(0, size))
        return root_at(size, lambda level, index: known[NodeId(level, index)])

    def inclusion_proof(self, leaf_index: int, size: int) -> list[bytes]:
        """One connection, two short queries: the log's size, then the O(log n) nodes."""
        plan = inclusion_plan(leaf_index, size)
        with self.engine.connect() as conn:
            _check_size(conn, size)
            return plan.assemble(_fetch_nodes(conn, plan.node_ids))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        plan = consistency_plan(old_size, new_size)
        with self.engine.connect() as conn:
            _check_size(conn, new_size)
            return plan.assemble(_fetch_nodes(conn, plan.node_ids))


def _check_size(conn: Connection, size: int) -> None:
    current = _size(conn)
    if not 0 <= size <= current:
        raise ValueError(f"tree size {size} is outside the log's 0..{current}")
