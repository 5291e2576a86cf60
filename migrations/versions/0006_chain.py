"""Alerts of the chain side: what stops or degrades anchoring until it is cleared.

Revision ID: 0006_chain
Revises: 0005_anchors
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_chain"
down_revision: str | Sequence[str] | None = "0005_anchors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('refused', 'inconsistent-log', 'rollback', 'nonce-gap')"


def upgrade() -> None:
    # A refused or inconsistent anchor halts anchoring until an operator clears the row
    # (`cleared_at`); a rollback or a nonce gap is cleared by the worker once healed.
    op.create_table(
        "chain_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("contract", sa.String(42), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(KINDS, name="chain_alerts_kind_known"),
    )
    op.create_index(
        "chain_alerts_open",
        "chain_alerts",
        ["chain_id", "contract", "kind"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL"),
        sqlite_where=sa.text("cleared_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("chain_alerts")
