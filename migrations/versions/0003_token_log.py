"""Token log: one leaf per journal event that moves AZR, and the Merkle tree's perfect nodes.

Revision ID: 0003_token_log
Revises: 0002_api_auth
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen import append_only_sql, drop_append_only_sql

revision: str = "0003_token_log"
down_revision: str | Sequence[str] | None = "0002_api_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOURNAL = ("token_leaves", "merkle_nodes")


def upgrade() -> None:
    op.create_table(
        "token_leaves",
        sa.Column("leaf_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("entry_id", sa.String(64), nullable=False, unique=True),
        sa.Column("leaf", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.CheckConstraint("leaf_index >= 0", name="token_leaves_index_nonnegative"),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for table in JOURNAL:
        for statement in append_only_sql(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in JOURNAL:
        for statement in drop_append_only_sql(dialect, table):
            op.execute(statement)
    op.drop_table("merkle_nodes")
    op.drop_table("token_leaves")
