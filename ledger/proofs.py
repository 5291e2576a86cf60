"""Proofs for auditors: inclusion of a token event in an anchored tree, consistency between
two anchored tree sizes (DESIGN §7). Reads the token log and the anchor records; no web3.

An inclusion proof is always against the latest *confirmed* anchor of the configured
contract: an auditor checks it with that anchor's root read from the chain, never ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from ledger.errors import Conflict, NotFound
from ledger.store.tables import anchors
from ledger.tokenlog import TokenLog

CONFIRMED = "confirmed"
ANCHORS_MAX_LIMIT = 500


class NotAnchored(Conflict):
    """The entry's leaf is not yet under a confirmed anchor: ask again in ``retry_after_s``."""

    code = "not-anchored"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    index: int | None
    chain_id: int
    contract: str
    tree_size: int
    root: bytes
    tx_hash: str | None
    block_number: int | None
    status: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "tx_hash": self.tx_hash,
            "block_number": self.block_number,
            "tree_size": self.tree_size,
            "root": "0x" + self.root.hex(),
            "status": self.status,
        }


def _record(row: Any) -> AnchorRecord:
    return AnchorRecord(
        row.anchor_index,
        row.chain_id,
        row.contract,
        row.tree_size,
        bytes(row.root),
        row.tx_hash,
        row.block_number,
        row.status,
    )


class Proofs:
    """Proof assembly for one chain and contract (``None``: whatever is recorded)."""

    def __init__(self, engine: Engine, chain_id: int | None = None, contract: str | None = None):
        self.engine = engine
        self.log = TokenLog(engine)
        self.chain_id = chain_id
        self.contract = contract

    def _scope(self, stmt: Any) -> Any:
        if self.chain_id is not None:
            stmt = stmt.where(anchors.c.chain_id == self.chain_id)
        if self.contract is not None:
            stmt = stmt.where(anchors.c.contract == self.contract)
        return stmt

    def anchors(self, *, limit: int = 100, before_size: int | None = None) -> list[AnchorRecord]:
        """Anchor attempts, newest tree size first (``before_size`` is the cursor)."""
        if not 1 <= limit <= ANCHORS_MAX_LIMIT:
            raise ValueError(f"limit must be within 1..{ANCHORS_MAX_LIMIT}")
        stmt = self._scope(select(anchors))
        if before_size is not None:
            stmt = stmt.where(anchors.c.tree_size < before_size)
        stmt = stmt.order_by(anchors.c.tree_size.desc(), anchors.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(stmt)]

    def latest_confirmed(self) -> AnchorRecord | None:
        stmt = self._scope(select(anchors).where(anchors.c.status == CONFIRMED))
        stmt = stmt.order_by(anchors.c.tree_size.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _record(row)

    def confirmed_at_size(self, tree_size: int) -> AnchorRecord:
        stmt = self._scope(
            select(anchors).where(anchors.c.status == CONFIRMED, anchors.c.tree_size == tree_size)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"tree size {tree_size} was never anchored")
        return _record(row)

    def entry_proof(self, entry_id: str, *, retry_after_s: int) -> dict[str, Any]:
        """The DESIGN §7 inclusion proof of ``entry_id``'s token-log leaf."""
        leaf = self.log.leaf_of_entry(entry_id)
        anchor = self.latest_confirmed()
        if anchor is None or anchor.tree_size <= leaf.leaf_index:
            raise NotAnchored(
                f"entry {entry_id} (leaf {leaf.leaf_index}) is not anchored yet",
                retry_after_s=retry_after_s,
            )
        proof = self.log.inclusion_proof(leaf.leaf_index, anchor.tree_size)
        return {
            "entry_id": entry_id,
            "leaf_index": leaf.leaf_index,
            "leaf": leaf.leaf.decode(),
            "leaf_hash": "0x" + leaf.leaf_hash.hex(),
            "tree_size": anchor.tree_size,
            "root": "0x" + anchor.root.hex(),
            "inclusion_proof": ["0x" + p.hex() for p in proof],
            "anchor": {
                "index": anchor.index,
                "chain_id": anchor.chain_id,
                "contract": anchor.contract,
                "tx_hash": anchor.tx_hash,
                "block_number": anchor.block_number,
                "status": anchor.status,
            },
        }

    def consistency(self, from_size: int, to_size: int) -> dict[str, Any]:
        """Consistency proof between two anchored sizes; NotFound unless both were anchored."""
        if not 0 < from_size <= to_size:
            raise ValueError("need 0 < from <= to")
        self.confirmed_at_size(from_size)
        self.confirmed_at_size(to_size)
        proof = self.log.consistency_proof(from_size, to_size)
        # The roots of the log as it stands now, not as recorded when anchored: an auditor
        # compares them with the chain, which exposes any rewrite of the stored history.
        return {
            "from": from_size,
            "to": to_size,
            "from_root": "0x" + self.log.root(from_size).hex(),
            "to_root": "0x" + self.log.root(to_size).hex(),
            "proof": ["0x" + p.hex() for p in proof],
        }
