"""Webhook signing secrets are kept sealed (AES-256-GCM, ``v1.<key id>.<base64url>``):
the column grows to hold the sealed form. Secrets stored before stay readable and are
sealed the next time they are used.

Revision ID: 0130_sealed_webhook_secrets
Revises: 0120_fee_cap_alert
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0130_sealed_webhook_secrets"
down_revision: str | Sequence[str] | None = "0120_fee_cap_alert"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks_endpoints") as batch:
        batch.alter_column("secret", type_=sa.String(256), existing_nullable=False)


def downgrade() -> None:
    # A sealed secret does not fit the old width, and nothing here can open it: refuse
    # rather than cut it (endpoints would then sign with a mangled key).
    sealed = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM webhooks_endpoints WHERE substr(secret, 1, 6) <> 'whsec_'"
            )
        )
        .scalar_one()
    )
    if sealed:
        raise RuntimeError(
            f"{sealed} webhook secrets are sealed: downgrading would lose them; "
            "delete those endpoints first"
        )
    with op.batch_alter_table("webhooks_endpoints") as batch:
        batch.alter_column("secret", type_=sa.String(128), existing_nullable=False)
