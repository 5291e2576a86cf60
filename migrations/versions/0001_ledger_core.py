"""Ledger core: accounts, the entry journal, per-account lines, balance projections.

Revision ID: 0001_ledger_core
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen import (
    AMOUNT,
    PG_FUNCTION,
    PG_FUNCTION_SQL,
    UTC_DATETIME,
    append_only_sql,
    drop_append_only_sql,
)

revision: str = "0001_ledger_core"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOURNAL = ("accounts", "entries", "entry_lines")
ENTRY_TYPES = ("posted", "pending", "post_pending", "void_pending", "expire_pending")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("allow_negative", sa.Boolean, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
    )
    types = ", ".join(f"'{t}'" for t in ENTRY_TYPES)
    op.create_table(
        "entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("postings", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("effective_at", UTC_DATETIME, nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME),
        sa.Column("hold_id", sa.String(64), unique=True),  # a hold resolves exactly once
        sa.Column("reverses_id", sa.String(64), unique=True),  # an entry reverses once
        sa.Column("principal", sa.String(128)),
        sa.Column("idempotency_key", sa.String(128)),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.CheckConstraint("seq > 0", name="entries_seq_positive"),
        sa.CheckConstraint(f"type IN ({types})", name="entries_type_known"),
        sa.CheckConstraint(
            "(type IN ('post_pending', 'void_pending', 'expire_pending')) = (hold_id IS NOT NULL)",
            name="entries_resolution_names_hold",
        ),
        # Key first: a batch probes "key IN (...) AND principal = p", selective on any stats.
        sa.UniqueConstraint("idempotency_key", "principal", name="entries_idempotency"),
    )
    op.create_index(
        "entries_open_hold_deadline",
        "entries",
        ["expires_at"],
        postgresql_where=sa.text("type = 'pending'"),
        sqlite_where=sa.text("type = 'pending'"),
    )
    op.create_table(
        "entry_lines",
        sa.Column("account_id", sa.String(128), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("balance_after", AMOUNT, nullable=False),
        sa.Column("effective_at", UTC_DATETIME, nullable=False),
    )
    # Windowed sums per account and kind: limits (daily caps) and leaderboards.
    op.create_index(
        "entry_lines_account_kind_time", "entry_lines", ["account_id", "kind", "effective_at"]
    )
    op.create_table(
        "balances",
        sa.Column("account_id", sa.String(128), primary_key=True),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("allow_negative", sa.Boolean, nullable=False),
        sa.Column("balance", AMOUNT, nullable=False),
        sa.Column("pending_out", AMOUNT, nullable=False),
        sa.Column("pending_in", AMOUNT, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "journal_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.CheckConstraint("id = 1", name="journal_head_single_row"),
    )
    op.get_bind().execute(
        sa.text("INSERT INTO journal_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": bytes(32)}
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # The database, not only the application, refuses an overdraft.
        op.execute(
            "ALTER TABLE balances ADD CONSTRAINT balances_no_overdraft "
            "CHECK (allow_negative OR balance - pending_out >= 0)"
        )
        op.execute(
            "ALTER TABLE balances ADD CONSTRAINT balances_pending_nonnegative "
            "CHECK (pending_out >= 0 AND pending_in >= 0)"
        )
        op.execute(PG_FUNCTION_SQL)
    for table in JOURNAL:
        for statement in append_only_sql(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in JOURNAL:
        for statement in drop_append_only_sql(dialect, table):
            op.execute(statement)
    for table in ("journal_head", "balances", "entry_lines", "entries", "accounts"):
        op.drop_table(table)
    if dialect == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
