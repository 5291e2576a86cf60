"""API auth: service API keys (hashed secrets, scopes, revocation).

Revision ID: 0002_api_auth
Revises: 0001_ledger_core
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen import UTC_DATETIME

revision: str = "0002_api_auth"
down_revision: str | Sequence[str] | None = "0001_ledger_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not a journal table: revocation sets revoked_at. Rows are never deleted, so the
    # principal ("key:<id>") recorded on an entry always names a key.
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),  # sha256 hex of the secret
        sa.Column("scopes", sa.String(256), nullable=False),  # space-separated
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME),
        sa.CheckConstraint("length(secret_hash) = 64", name="api_keys_hash_is_sha256"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
