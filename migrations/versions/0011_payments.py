"""Payments: every charge attempt at the provider, and the webhook events handled.

Revision ID: 0011_payments
Revises: 0010_billing
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_payments"
down_revision: str | Sequence[str] | None = "0010_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
ATTEMPT_STATUSES = ("succeeded", "declined", "unavailable", "refunded")


def upgrade() -> None:
    statuses = ", ".join(f"'{s}'" for s in ATTEMPT_STATUSES)
    op.create_table(
        "payments_attempts",
        # The provider's idempotency key: one row per logical charge, its latest outcome.
        sa.Column("idempotency_key", sa.String(128), primary_key=True),
        sa.Column("customer", sa.String(64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payment_method", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("charge_id", sa.String(255)),
        sa.Column("entry_id", sa.String(64)),
        sa.Column("refunded_cents", sa.BigInteger, nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(f"status IN ({statuses})", name="payments_attempts_status"),
        sa.CheckConstraint(
            "amount_cents > 0 AND refunded_cents BETWEEN 0 AND amount_cents",
            name="payments_attempts_amounts",
        ),
        sa.CheckConstraint(
            "(status IN ('succeeded', 'refunded')) = (charge_id IS NOT NULL)",
            name="payments_attempts_captured_has_charge",
        ),
    )
    op.create_index("payments_attempts_by_time", "payments_attempts", ["attempted_at"])
    op.create_index("payments_attempts_by_charge", "payments_attempts", ["charge_id"])
    op.create_table(
        "payments_webhook_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payments_webhook_events")
    op.drop_table("payments_attempts")
