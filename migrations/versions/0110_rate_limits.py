"""The request rate limit shared by all processes: a token bucket per principal.

Revision ID: 0110_rate_limits
Revises: 0100_market_search
Create Date: 2026-12-02

``rate_buckets`` is UNLOGGED on PostgreSQL (no WAL: cheap to update on every lease, emptied
by a crash, when every bucket simply starts full again; not on a standby). SQLite keeps the
table for the same schema on both back ends, but limits per process (``api/ratestore.py``).

Only alembic, sqlalchemy and ``migrations.frozen`` are imported.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen import UTC_DATETIME as TS

revision: str = "0110_rate_limits"
down_revision: str | Sequence[str] | None = "0100_market_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("principal", sa.String(160), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("granted", sa.Integer, nullable=False),
        sa.Column("at", TS, nullable=False),
        prefixes=["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else [],
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
