"""Rewards: earning rules (seeded), catalog, redemptions, entitlements, classes, friendships
and the leaderboard projection.

Revision ID: 0004_rewards
Revises: 0003_token_log
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from migrations.frozen import AMOUNT, UTC_DATETIME, amount_value

revision: str = "0004_rewards"
down_revision: str | Sequence[str] | None = "0003_token_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AZR_UNIT = 10**18
# event type, AZR per event, daily cap in AZR per user (UTC day)
SEED_RULES = (
    ("lesson.completed", 5, 50),
    ("quiz.passed", 10, 100),
    ("course.completed", 100, 300),
    ("streak.daily", 2, 2),
    ("referral.signup", 50, 500),
)
ITEM_TYPES = ("feature_unlock", "course_content", "merchandise", "onchain_withdrawal")
STATUSES = (
    "requested",
    "held",
    "minting",
    "fulfilled",
    "cancelled",
    "rejected",
    "failed",
    "expired",
)
MINT_STATES = ("signed", "submitted", "confirmed", "dropped", "failed")


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    rules = op.create_table(
        "reward_rules",
        sa.Column("event_type", sa.String(48), primary_key=True),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("daily_cap", AMOUNT),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
    )
    now = datetime.now(UTC)
    dialect = op.get_bind().dialect.name
    op.bulk_insert(
        rules,
        [
            {
                "event_type": event_type,
                "amount": amount_value(amount * AZR_UNIT, dialect),
                "daily_cap": amount_value(cap * AZR_UNIT, dialect),
                "active": True,
                "updated_at": now,
            }
            for event_type, amount, cap in SEED_RULES
        ],
    )
    op.create_table(
        "reward_catalog",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("price", AMOUNT, nullable=False),
        sa.Column("stock", sa.Integer),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(f"type IN ({_in(ITEM_TYPES)})", name="reward_catalog_type_known"),
        # The guarded decrement keeps stock >= 0; the constraint makes it a fact.
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name="reward_catalog_stock_nonnegative"),
    )
    op.create_table(
        "reward_redemptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("item_type", sa.String(32), nullable=False),
        sa.Column("price", AMOUNT, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("hold_key", sa.String(128), nullable=False, unique=True),
        sa.Column("hold_entry_id", sa.String(64), unique=True),
        sa.Column("shipping_address", sa.JSON),
        sa.Column("eth_address", sa.String(42)),
        sa.Column("tx_hash", sa.String(66)),
        # A withdrawal's signed mint, stored before it is broadcast (crash-safe settling).
        sa.Column("mint_state", sa.String(16)),
        sa.Column("mint_chain_id", sa.BigInteger),
        sa.Column("mint_signer", sa.String(42)),
        sa.Column("mint_nonce", sa.BigInteger),
        sa.Column("mint_raw", sa.LargeBinary),
        sa.Column("intent", sa.String(16)),
        sa.Column("reason", sa.Text),
        sa.Column("fulfilment", sa.JSON),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("user_id", "request_key", name="reward_redemptions_request_once"),
        sa.CheckConstraint(f"status IN ({_in(STATUSES)})", name="reward_redemptions_status"),
        sa.CheckConstraint(f"item_type IN ({_in(ITEM_TYPES)})", name="reward_redemptions_type"),
        sa.CheckConstraint(
            f"mint_state IS NULL OR mint_state IN ({_in(MINT_STATES)})",
            name="reward_redemptions_mint_state",
        ),
        # A mint is recorded whole or not at all.
        sa.CheckConstraint(
            "(mint_state IS NULL) = (mint_raw IS NULL) AND (mint_raw IS NULL) = (tx_hash IS NULL)"
            " AND (mint_raw IS NULL) = (mint_nonce IS NULL)",
            name="reward_redemptions_mint_whole",
        ),
    )
    op.create_index("reward_redemptions_by_user", "reward_redemptions", ["user_id", "created_at"])
    op.create_index("reward_redemptions_by_status", "reward_redemptions", ["status"])
    op.create_table(
        "reward_entitlements",
        sa.Column("redemption_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("until", UTC_DATETIME),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("reward_entitlements_by_user", "reward_entitlements", ["user_id", "item_id"])
    op.create_table(
        "class_members",
        sa.Column("class_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("joined_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("class_members_by_user", "class_members", ["user_id"])
    op.create_table(
        "friend_requests",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("friend_id", sa.String(64), primary_key=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("user_id <> friend_id", name="friend_requests_not_self"),
    )
    op.create_index("friend_requests_by_friend", "friend_requests", ["friend_id", "user_id"])
    op.create_table(
        "leaderboard_scores",
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("period_start", sa.String(10), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("score", AMOUNT, nullable=False),
    )
    # Top N is an index scan; inside a caller's bucket, a rank is two narrow range counts.
    op.create_index(
        "leaderboard_scores_rank",
        "leaderboard_scores",
        ["period", "period_start", sa.text("score DESC"), "user_id"],
    )
    # Ranked users per score bucket: the rest of a rank is a sum over the buckets above.
    op.create_table(
        "leaderboard_buckets",
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("period_start", sa.String(10), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True),
        sa.Column("users", sa.Integer, nullable=False),
        sa.CheckConstraint("users >= 0", name="leaderboard_buckets_users_nonnegative"),
    )
    checkpoint = op.create_table(
        "leaderboard_checkpoint",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(checkpoint, [{"id": 1, "seq": 0}])


def downgrade() -> None:
    for table in (
        "leaderboard_checkpoint",
        "leaderboard_buckets",
        "leaderboard_scores",
        "friend_requests",
        "class_members",
        "reward_entitlements",
        "reward_redemptions",
        "reward_catalog",
        "reward_rules",
    ):
        op.drop_table(table)
