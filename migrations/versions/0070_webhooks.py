"""Webhooks: endpoints, deliveries and the log of their attempts.

Revision ID: 0070_webhooks
Revises: 0050_licensing
Create Date: 2026-12-02

Only alembic, sqlalchemy and ``migrations.frozen`` are imported.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen import UTC_DATETIME as TS

revision: str = "0070_webhooks"
down_revision: str | Sequence[str] | None = "0060_rewards_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhooks_endpoints",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner", sa.String(160), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("kinds", sa.Text, nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deleted_at", TS),
        sa.Column("scanned_seq", sa.BigInteger, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("lease_token", sa.String(32)),
        sa.Column("lease_until", TS),
    )
    op.create_index("webhooks_endpoints_by_owner", "webhooks_endpoints", ["owner", "created_at"])
    op.create_index("webhooks_endpoints_due", "webhooks_endpoints", ["next_attempt_at"])
    op.create_table(
        "webhooks_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "endpoint_id", sa.String(36), sa.ForeignKey("webhooks_endpoints.id"), nullable=False
        ),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("entry_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retry_until", TS, nullable=False),
        sa.Column("last_attempt_at", TS),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.String(500)),
        sa.Column("delivered_at", TS),
        sa.UniqueConstraint("endpoint_id", "seq", name="webhooks_deliveries_one_per_event"),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="webhooks_deliveries_status"
        ),
    )
    op.create_index(
        "webhooks_deliveries_queue", "webhooks_deliveries", ["endpoint_id", "status", "seq"]
    )
    op.create_table(
        "webhooks_attempts",
        sa.Column(
            "delivery_id", sa.String(36), sa.ForeignKey("webhooks_deliveries.id"), nullable=False
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.String(500)),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("webhooks_attempts")
    op.drop_index("webhooks_deliveries_queue", table_name="webhooks_deliveries")
    op.drop_table("webhooks_deliveries")
    op.drop_index("webhooks_endpoints_due", table_name="webhooks_endpoints")
    op.drop_index("webhooks_endpoints_by_owner", table_name="webhooks_endpoints")
    op.drop_table("webhooks_endpoints")
