"""The chain side's own tables (the schema itself comes from ``migrations/``).

``chain_deployments``: the token deployed per chain id. ``anchors``: one row per attempt to
anchor a tree size, moving through the chain-write saga's states (:mod:`chain.saga`).
``chain_alerts``: what stops or degrades anchoring until it is cleared (a refused anchor
stays until an operator clears it; a rollback clears itself once re-anchored).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from ledger import UTCDateTime

metadata = MetaData()

chain_deployments = Table(
    "chain_deployments",
    metadata,
    Column("chain_id", BigInteger, primary_key=True, autoincrement=False),
    Column("address", String(42), nullable=False),
    Column("tx_hash", String(66)),
    Column("block_number", BigInteger),
    Column("deployed_at", UTCDateTime, nullable=False),
)

anchors = Table(
    "anchors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("contract", String(42), nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("tx_hash", String(66)),
    Column("nonce", BigInteger),
    Column("raw_tx", LargeBinary),
    Column("anchor_index", BigInteger),
    Column("block_number", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
_LIVE = text("status IN ('signed', 'submitted', 'confirmed')")
# Never two live attempts at one size, never two rows for one contract index.
Index(
    "anchors_live_size",
    anchors.c.chain_id,
    anchors.c.contract,
    anchors.c.tree_size,
    unique=True,
    postgresql_where=_LIVE,
    sqlite_where=_LIVE,
)
_INDEXED = text("anchor_index IS NOT NULL")
Index(
    "anchors_contract_index",
    anchors.c.chain_id,
    anchors.c.contract,
    anchors.c.anchor_index,
    unique=True,
    postgresql_where=_INDEXED,
    sqlite_where=_INDEXED,
)

chain_alerts = Table(
    "chain_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("contract", String(42), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("cleared_at", UTCDateTime),
)
_OPEN = text("cleared_at IS NULL")
# One open alert per kind and contract.
Index(
    "chain_alerts_open",
    chain_alerts.c.chain_id,
    chain_alerts.c.contract,
    chain_alerts.c.kind,
    unique=True,
    postgresql_where=_OPEN,
    sqlite_where=_OPEN,
)
