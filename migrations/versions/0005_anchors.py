"""Anchors of the token log on chain, and deployments of the token per chain id.

Revision ID: 0005_anchors
Revises: 0004_rewards
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen import UTC_DATETIME

revision: str = "0005_anchors"
down_revision: str | Sequence[str] | None = "0004_rewards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status IN ('signed', 'submitted', 'confirmed')"


def upgrade() -> None:
    op.create_table(
        "chain_deployments",
        sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("deployed_at", UTC_DATETIME, nullable=False),
    )
    # One row per attempt to anchor a tree size. Status moves signed -> submitted ->
    # confirmed, or to dropped/failed; the chain stays the source of truth and the worker
    # reconciles these rows with it at the start of every round.
    op.create_table(
        "anchors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("contract", sa.String(42), nullable=False),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("nonce", sa.BigInteger),
        sa.Column("raw_tx", sa.LargeBinary),
        sa.Column("anchor_index", sa.BigInteger),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('signed', 'submitted', 'confirmed', 'dropped', 'failed')",
            name="anchors_status_known",
        ),
    )
    # Never two live attempts at one size, never two rows for one contract index.
    op.create_index(
        "anchors_live_size",
        "anchors",
        ["chain_id", "contract", "tree_size"],
        unique=True,
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )
    op.create_index(
        "anchors_contract_index",
        "anchors",
        ["chain_id", "contract", "anchor_index"],
        unique=True,
        postgresql_where=sa.text("anchor_index IS NOT NULL"),
        sqlite_where=sa.text("anchor_index IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("anchors")
    op.drop_table("chain_deployments")
