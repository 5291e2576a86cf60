"""Table definitions of the rewards domain; the schema itself is ``migrations/0004_rewards``
(and ``0060_rewards_states``: the redemption state checks).

None of these is a journal table: token movements live in the ledger. Rules and the catalog
are admin-edited configuration; redemptions are a workflow whose money side is a ledger
hold; ``leaderboard_scores`` and ``leaderboard_buckets`` are a projection of the journal,
rebuildable at any time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ledger.store.types import Amount, UTCDateTime
from monetization.rewards.states import intent_check_sql, status_check_sql

metadata = MetaData()

_SORT_DIGITS = 79
_NEG_OFFSET = 10**_SORT_DIGITS


class SortableAmount(Amount):
    """A signed exact integer that the database can ORDER BY.

    PostgreSQL: ``NUMERIC(78,0)``, as :class:`Amount`. SQLite has no exact wide type, so it
    stores text that sorts like the number: ``p`` + 79 digits for >= 0, ``n`` + the 79-digit
    complement for negatives ('n' < 'p', and a more negative value has a smaller complement).
    """

    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if dialect.name != "sqlite" or value is None:
            return super().process_bind_param(value, dialect)
        if type(value) is not int:
            raise TypeError(f"scores are ints of smallest units, got {value!r}")
        return encode_sortable(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if isinstance(value, str):
            return decode_sortable(value)
        return super().process_result_value(value, dialect)


def encode_sortable(value: int) -> str:
    assert abs(value) < _NEG_OFFSET, value
    if value >= 0:
        return "p" + str(value).zfill(_SORT_DIGITS)
    return "n" + str(_NEG_OFFSET + value).zfill(_SORT_DIGITS)


def decode_sortable(text: str) -> int:
    number = int(text[1:])
    return number if text[0] == "p" else number - _NEG_OFFSET


reward_rules = Table(
    "reward_rules",
    metadata,
    Column("event_type", String(48), primary_key=True),
    Column("amount", Amount, nullable=False),
    Column("daily_cap", Amount),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

reward_catalog = Table(
    "reward_catalog",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    Column("price", Amount, nullable=False),
    Column("stock", Integer),
    Column("active", Boolean, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

reward_redemptions = Table(
    "reward_redemptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("item_type", String(32), nullable=False),
    Column("price", Amount, nullable=False),
    Column("status", String(16), nullable=False),
    Column("request_key", String(128), nullable=False),
    Column("hold_key", String(128), nullable=False, unique=True),
    Column("hold_entry_id", String(64), unique=True),
    Column("shipping_address", JSON),
    Column("eth_address", String(42)),
    Column("tx_hash", String(66)),
    # The signed mint of a withdrawal, recorded before it is broadcast (see withdrawals.py).
    Column("mint_state", String(16)),
    Column("mint_chain_id", BigInteger),
    Column("mint_signer", String(42)),
    Column("mint_nonce", BigInteger),
    Column("mint_raw", LargeBinary),
    Column("intent", String(16)),
    Column("reason", Text),
    Column("fulfilment", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", "request_key", name="reward_redemptions_request_once"),
    # From the state table (states.py); 0060 adds the same, and a trigger that refuses any
    # status change the table lacks.
    CheckConstraint(status_check_sql(), name="reward_redemptions_status"),
    CheckConstraint(intent_check_sql(), name="reward_redemptions_intent"),
    Index("reward_redemptions_by_user", "user_id", "created_at"),
    Index("reward_redemptions_by_status", "status"),
)

reward_entitlements = Table(
    "reward_entitlements",
    metadata,
    Column("redemption_id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Index("reward_entitlements_by_user", "user_id", "item_id"),
)

class_members = Table(
    "class_members",
    metadata,
    Column("class_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("joined_at", UTCDateTime, nullable=False),
    Index("class_members_by_user", "user_id"),
)

friend_requests = Table(
    "friend_requests",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("friend_id", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("friend_requests_by_friend", "friend_id", "user_id"),
)

leaderboard_scores = Table(
    "leaderboard_scores",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("period_start", String(10), primary_key=True),  # ISO date of the window's first day
    Column("user_id", String(64), primary_key=True),
    Column("score", SortableAmount, nullable=False),
)
# Top N is an index scan; inside a caller's bucket, a rank is two narrow range counts.
Index(
    "leaderboard_scores_rank",
    leaderboard_scores.c.period,
    leaderboard_scores.c.period_start,
    leaderboard_scores.c.score.desc(),
    leaderboard_scores.c.user_id,
)

# How many ranked users (score > 0) each score bucket holds, per window: a caller's rank is
# the sum over the buckets above theirs plus a narrow count inside their own bucket. Kept
# by the projector in the transaction that changes the scores (see projection.py).
leaderboard_buckets = Table(
    "leaderboard_buckets",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("period_start", String(10), primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("users", Integer, nullable=False),
)

leaderboard_checkpoint = Table(
    "leaderboard_checkpoint",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
)
