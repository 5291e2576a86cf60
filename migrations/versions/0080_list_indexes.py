"""Indexes for the listings ``GET /v1/accounts`` (by asset) and ``GET /v1/entries`` (by
kind, by effective time) across every account.

Revision ID: 0080_list_indexes
Revises: 0060_rewards_states
Create Date: 2026-12-02

The other filters already have theirs: an id prefix is a range of ``accounts``' primary key,
one account's entries are ``entry_lines``' primary key ``(account_id, seq)`` (with a kind,
``entry_lines_account_kind_time``), a range of ``seq`` is ``entries``' primary key.
Only alembic and sqlalchemy are imported.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0080_list_indexes"
down_revision: str | Sequence[str] | None = "0070_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("accounts_asset_id", "accounts", ["asset", "id"])
    op.create_index("entries_kind_seq", "entries", ["kind", "seq"])
    op.create_index("entries_effective_at", "entries", ["effective_at"])


def downgrade() -> None:
    op.drop_index("entries_effective_at", table_name="entries")
    op.drop_index("entries_kind_seq", table_name="entries")
    op.drop_index("accounts_asset_id", table_name="accounts")
