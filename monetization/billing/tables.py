"""Table definitions of the billing domain; the schema itself is migration ``0010_billing``.

No journal table here: money moves in the ledger. ``billing_plans``, ``billing_features``
and ``billing_plan_features`` are data seeded by the migration; ``billing_subscriptions``
holds one row per user who ever subscribed (a user without one is on ``free``);
``billing_subscription_events`` is the append-only history of every state change (the
business metrics read it); ``billing_changes`` records a paid change before it is charged,
so a crash or a retry finishes it instead of charging twice.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ledger import UTCDateTime

metadata = MetaData()

billing_plans = Table(
    "billing_plans",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("rank", SmallInteger, nullable=False, unique=True),
    Column("active", Boolean, nullable=False),
)

billing_features = Table(
    "billing_features",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("type", String(8), nullable=False),
    Column("description", Text, nullable=False),
    Column("position", SmallInteger, nullable=False),
)

billing_plan_features = Table(
    "billing_plan_features",
    metadata,
    Column("plan_id", String(32), primary_key=True),
    Column("feature_key", String(64), primary_key=True),
    Column("enabled", Boolean),  # boolean features
    Column("limit_value", BigInteger),  # limit features; NULL = unlimited
)

billing_subscriptions = Table(
    "billing_subscriptions",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("plan_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("current_period_start", UTCDateTime),
    Column("current_period_end", UTCDateTime),
    Column("anchor_day", SmallInteger),
    Column("cancel_at_period_end", Boolean, nullable=False),
    Column("scheduled_plan", String(32)),
    Column("payment_method", String(64)),
    Column("failed_attempts", SmallInteger, nullable=False),
    Column("grace_until", UTCDateTime),
    # When the billing run must look at it next (period end, or the next retry).
    Column("due_at", UTCDateTime),
    # A paid change in progress (billing_changes.id): renewals wait for it.
    Column("change_id", String(36)),
    Column("version", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("billing_subscriptions_due", billing_subscriptions.c.due_at, billing_subscriptions.c.user_id)

billing_subscription_events = Table(
    "billing_subscription_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("event", String(24), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("from_plan", String(32), nullable=False),
    Column("to_plan", String(32), nullable=False),
    # The monthly recurring amount after the event (the plan's price while paying, else 0).
    Column("mrr_cents", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),  # charged by this event
    Column("entry_id", String(64)),
    Column("at", UTCDateTime, nullable=False),  # when it took effect
    Column("recorded_at", UTCDateTime, nullable=False),
)
Index(
    "billing_subscription_events_by_user",
    billing_subscription_events.c.user_id,
    billing_subscription_events.c.at,
)
Index("billing_subscription_events_by_at", billing_subscription_events.c.at)

billing_changes = Table(
    "billing_changes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("principal", String(128), nullable=False),
    Column("request_key", String(128), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("event", String(24), nullable=False),
    Column("plan_id", String(32), nullable=False),
    Column("payment_method", String(64), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("anchor_day", SmallInteger, nullable=False),
    Column("base_version", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("charge_id", String(255)),
    Column("entry_id", String(64)),
    Column("result", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", "principal", "request_key", name="billing_changes_key"),
)
