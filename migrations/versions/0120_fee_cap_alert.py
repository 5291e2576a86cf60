"""Anchoring's alerts learn ``fee-cap``: the chain's fees are above the configured cap.

Revision ID: 0120_fee_cap_alert
Revises: 0110_rate_limits
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0120_fee_cap_alert"
down_revision: str | Sequence[str] | None = "0110_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "chain_alerts_kind_known"
BEFORE = "kind IN ('refused', 'inconsistent-log', 'rollback', 'nonce-gap', 'unfunded')"
AFTER = "kind IN ('refused', 'inconsistent-log', 'rollback', 'nonce-gap', 'unfunded', 'fee-cap')"


def _replace(check: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new one.
    with op.batch_alter_table("chain_alerts", recreate="auto") as batch:
        batch.drop_constraint(NAME, type_="check")
        batch.create_check_constraint(NAME, check)


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM chain_alerts WHERE kind = 'fee-cap'")
    _replace(BEFORE)
