"""Proofs for auditors: inclusion of a token event in an anchored tree, consistency between
two anchored tree sizes (DESIGN §7). Reads the token log and the anchor records.

An inclusion proof is always against the latest *confirmed* anchor of the configured
contract: an auditor checks it with that anchor's root read from the chain, never ours.
With a :class:`ChainConfirmation`, the record is checked against the chain itself first (at
most every ``ttl_s`` per anchor): an anchor the chain lost (a rollback, a reorg) is never
served, even before the worker has demoted it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select

from chain.errors import TransactionReverted
from chain.tables import anchors
from ledger.errors import Conflict, NotFound
from ledger.tokenlog import TokenLog

if TYPE_CHECKING:
    from chain.token import AzoraToken

CONFIRMED = "confirmed"
ANCHORS_MAX_LIMIT = 500
CANDIDATES_MAX = 8  # confirmed records tried, newest first, before answering not-anchored
CONFIRM_TTL_S = 2.0


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


class ChainConfirmation:
    """Does the chain hold this anchor, settled? ``anchorAt(index)`` must give the record's
    size and root, in a block the settings count as confirmed. Answers are kept ``ttl_s``
    per anchor; ChainError when the chain cannot say."""

    def __init__(
        self,
        token: Callable[[], AzoraToken],
        settled_block: Callable[[], int],
        ttl_s: float = CONFIRM_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = token
        self._settled_block = settled_block
        self.ttl_s = ttl_s
        self._monotonic = monotonic
        self._known: dict[tuple[str, int, int, bytes], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def __call__(self, record: AnchorRecord) -> bool:
        if record.index is None:
            return False
        key = (record.contract, record.index, record.tree_size, record.root)
        now = self._monotonic()
        with self._lock:
            cached = self._known.get(key)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        answer = self._ask(record)
        with self._lock:
            if len(self._known) > 4096:
                self._known.clear()
            self._known[key] = (now, answer)
        return answer

    def _ask(self, record: AnchorRecord) -> bool:
        token = self._token()
        if token.address != record.contract or record.index is None:
            return False
        try:
            on_chain = token.anchor_at(record.index)
        except TransactionReverted:
            return False  # no anchor at that index (any more)
        if (on_chain.tree_size, on_chain.root) != (record.tree_size, record.root):
            return False
        return record.block_number is None or record.block_number <= self._settled_block()


class Proofs:
    """Proof assembly for one chain and contract (``None``: whatever is recorded).

    ``confirm``: asked before a proof is served against a record (None: trust the records,
    for tests and tools without a chain).
    """

    def __init__(
        self,
        engine: Engine,
        chain_id: int | None = None,
        contract: str | None = None,
        confirm: Callable[[AnchorRecord], bool] | None = None,
    ):
        self.engine = engine
        self.log = TokenLog(engine)
        self.chain_id = chain_id
        self.contract = contract
        self.confirm = confirm

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
        """The newest record confirmed in the database and, with ``confirm``, on chain."""
        stmt = self._scope(select(anchors).where(anchors.c.status == CONFIRMED))
        stmt = stmt.order_by(anchors.c.tree_size.desc()).limit(CANDIDATES_MAX)
        with self.engine.connect() as conn:
            rows = list(conn.execute(stmt))
        for row in rows:
            record = _record(row)
            if self.confirm is None or self.confirm(record):
                return record
        return None

    def confirmed_at_size(self, tree_size: int) -> AnchorRecord:
        """A confirmed anchor of ``tree_size`` on any contract: consistency proofs are the
        log's alone, so they stay available for a contract the service has moved away from."""
        stmt = select(anchors).where(
            anchors.c.status == CONFIRMED, anchors.c.tree_size == tree_size
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"tree size {tree_size} was never anchored")
        return _record(row)

    def entry_proof(
        self, entry_id: str, *, retry_after_s: int, anchor: AnchorRecord | None = None
    ) -> dict[str, Any]:
        """The DESIGN §7 inclusion proof of ``entry_id``'s token-log leaf, against ``anchor``
        (a confirmed record; default: :meth:`latest_confirmed`)."""
        leaf = self.log.leaf_of_entry(entry_id)
        anchor = anchor or self.latest_confirmed()
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
