"""The ``anchors`` table of one (chain id, contract): every read and write the worker makes.

One row per attempt to anchor a tree size, in the chain-write saga's states; the unique
indexes allow one live attempt per size and one row per contract index.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from chain.saga import TxState
from chain.sender import SignedTx
from chain.tables import anchors

LIVE = (TxState.SIGNED.value, TxState.SUBMITTED.value)
CONFIRMED = TxState.CONFIRMED.value


class AnchorTable:
    def __init__(
        self, engine: Engine, chain_id: int, contract: str, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.chain_id = chain_id
        self.contract = contract
        self.clock = clock

    def _scope(self) -> tuple[Any, ...]:
        return (anchors.c.chain_id == self.chain_id, anchors.c.contract == self.contract)

    def confirmed_indexes(self) -> set[int]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(anchors.c.anchor_index).where(
                        *self._scope(), anchors.c.status == CONFIRMED
                    )
                ).scalars()
            )

    def top_confirmed_index(self) -> int | None:
        with self.engine.connect() as conn:
            top = conn.execute(
                select(anchors.c.anchor_index)
                .where(*self._scope(), anchors.c.status == CONFIRMED)
                .order_by(anchors.c.anchor_index.desc())
                .limit(1)
            ).scalar()
        return None if top is None else int(top)

    def confirmed_from(self, first_index: int) -> list[Any]:
        """Confirmed rows at contract index ``first_index`` and above, in index order."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(anchors)
                    .where(
                        *self._scope(),
                        anchors.c.status == CONFIRMED,
                        anchors.c.anchor_index >= first_index,
                    )
                    .order_by(anchors.c.anchor_index)
                )
            )

    def in_flight(self, limit: int) -> list[Any]:
        """Signed or submitted rows, lowest nonce first."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(anchors)
                    .where(*self._scope(), anchors.c.status.in_(LIVE))
                    .order_by(anchors.c.nonce, anchors.c.tree_size)
                    .limit(limit)
                )
            )

    def latest_created_at(self) -> datetime | None:
        with self.engine.connect() as conn:
            latest: datetime | None = conn.execute(
                select(anchors.c.created_at)
                .where(*self._scope())
                .order_by(anchors.c.created_at.desc())
                .limit(1)
            ).scalar()
        return latest

    def set_status(self, row_id: int, status: TxState) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(anchors)
                .where(anchors.c.id == row_id)
                .values(status=status.value, updated_at=self.clock())
            )

    def replace_tx(self, row_id: int, signed: SignedTx) -> None:
        """The attempt goes on with ``signed`` (its nonce, higher fees) before it is sent."""
        with self.engine.begin() as conn:
            conn.execute(
                update(anchors)
                .where(anchors.c.id == row_id)
                .values(
                    tx_hash=signed.tx_hash,
                    raw_tx=signed.raw,
                    status=TxState.SUBMITTED.value,
                    updated_at=self.clock(),
                )
            )

    def demote(self, row_id: int, back: TxState) -> None:
        """A confirmed row the chain lost: in flight again (or dropped), index forgotten."""
        with self.engine.begin() as conn:
            conn.execute(
                update(anchors)
                .where(anchors.c.id == row_id)
                .values(
                    status=back.value, anchor_index=None, block_number=None, updated_at=self.clock()
                )
            )

    def record_confirmed(
        self, index: int, size: int, root: bytes, tx_hash: str | None, block: int | None
    ) -> None:
        """The chain holds anchor ``index``: confirm the live row of that size, or add one."""
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(anchors.c.id).where(
                    *self._scope(),
                    anchors.c.tree_size == size,
                    anchors.c.status.in_((*LIVE, CONFIRMED)),
                )
            ).first()
            values: dict[str, Any] = {
                "status": CONFIRMED,
                "anchor_index": index,
                "block_number": block,
                "root": root,
                "updated_at": now,
            }
            if tx_hash is not None:
                values["tx_hash"] = tx_hash
            if row is not None:
                conn.execute(update(anchors).where(anchors.c.id == row.id).values(**values))
            else:
                conn.execute(
                    insert(anchors).values(
                        chain_id=self.chain_id,
                        contract=self.contract,
                        tree_size=size,
                        created_at=now,
                        **values,
                    )
                )

    def insert_signed(self, size: int, root: bytes, signed: SignedTx) -> int:
        """Records a signed anchor before it is sent; its row id."""
        now = self.clock()
        with self.engine.begin() as conn:
            row_id: int = conn.execute(
                insert(anchors)
                .values(
                    chain_id=self.chain_id,
                    contract=self.contract,
                    tree_size=size,
                    root=root,
                    status=TxState.SIGNED.value,
                    tx_hash=signed.tx_hash,
                    nonce=signed.nonce,
                    raw_tx=signed.raw,
                    created_at=now,
                    updated_at=now,
                )
                .returning(anchors.c.id)
            ).scalar_one()
        return row_id
