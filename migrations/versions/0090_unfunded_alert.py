"""Anchoring's alerts learn ``unfunded``: the anchoring key cannot pay for gas.

Revision ID: 0090_unfunded_alert
Revises: 0070_webhooks
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0090_unfunded_alert"
down_revision: str | Sequence[str] | None = "0080_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "chain_alerts_kind_known"
BEFORE = "kind IN ('refused', 'inconsistent-log', 'rollback', 'nonce-gap')"
AFTER = "kind IN ('refused', 'inconsistent-log', 'rollback', 'nonce-gap', 'unfunded')"


def _replace(check: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new one.
    with op.batch_alter_table("chain_alerts", recreate="auto") as batch:
        batch.drop_constraint(NAME, type_="check")
        batch.create_check_constraint(NAME, check)


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM chain_alerts WHERE kind = 'unfunded'")
    _replace(BEFORE)
