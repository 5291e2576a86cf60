"""Billing: plans and features (seeded), subscriptions, their event history, paid changes.

Revision ID: 0010_billing
Revises: 0006_chain
Create Date: 2026-12-03

Only alembic and sqlalchemy are imported: the plans, features and transition triples are
data copied here (a unit test compares the triples with ``monetization/billing/states.py``).
"""

# ruff: noqa: E501  (the feature table reads best one feature per line)

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_billing"
down_revision: str | Sequence[str] | None = "0006_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


UTCDateTime = sa.DateTime(timezone=True)  # the application stores aware UTC instants

# id, name, price in cents per month, rank
PLANS = (("free", "Free", 0, 0), ("pro", "Pro", 999, 1), ("enterprise", "Enterprise", 9900, 2))
B, L = "boolean", "limit"
U = None  # unlimited
# key, type, name, description, (free, pro, enterprise)
# fmt: off
FEATURES: tuple[tuple[str, str, str, str, tuple[bool | int | None, ...]], ...] = (
    ("courses_in_progress", L, "Courses in progress", "Courses a learner may follow at once", (3, U, U)),
    ("course_certificates", B, "Certificates", "Certificates of completion", (False, True, True)),
    ("offline_downloads", L, "Offline downloads", "Lessons kept for offline use", (0, 50, U)),
    ("ai_tutor_requests_per_day", L, "AI tutor", "AI tutor questions per UTC day", (5, 100, U)),
    ("quiz_retakes_per_day", L, "Quiz retakes", "Quiz retakes per UTC day", (3, U, U)),
    ("video_quality_max_p", L, "Video quality", "Highest video resolution (lines)", (720, 1080, 2160)),
    ("ad_free", B, "No ads", "Lessons without advertising", (False, True, True)),
    ("early_access", B, "Early access", "New courses before their public release", (False, True, True)),
    ("learning_analytics", B, "Learning analytics", "Progress and time-on-task reports", (False, True, True)),
    ("advanced_analytics", B, "Advanced analytics", "Cohort and team reports, exports", (False, False, True)),
    ("priority_support", B, "Priority support", "Answers within one business day", (False, True, True)),
    ("dedicated_success_manager", B, "Success manager", "A named account manager", (False, False, True)),
    ("paid_course_publishing", B, "Paid courses", "Publish courses with a price in the marketplace", (False, True, True)),
    ("published_courses", L, "Published courses", "Courses an instructor may publish", (1, 25, U)),
    ("instructor_revenue_share_pct", L, "Instructor share", "Instructor's percentage of a sale", (70, 70, 75)),
    ("live_classes_per_month", L, "Live classes", "Live classes joined per month", (0, 4, U)),
    ("mentor_sessions_per_month", L, "Mentor sessions", "One-to-one mentor sessions per month", (0, 1, 4)),
    ("storage_gb", L, "Storage", "Storage for uploads, in GB", (1, 50, 1000)),
    ("team_seats", L, "Team seats", "Members who share the subscription", (1, 1, 50)),
    ("custom_branding", B, "Custom branding", "Own logo and colours", (False, False, True)),
    ("sso", B, "Single sign-on", "OIDC or SAML sign-in", (False, False, True)),
    ("api_access", B, "API access", "Programmatic access to learning data", (False, False, True)),
    ("api_requests_per_month", L, "API requests", "API requests per month", (0, 0, U)),
    ("token_reward_multiplier_pct", L, "Reward multiplier", "AZR earned, percent of the rule", (100, 125, 150)),
)
# fmt: on

STATUSES = ("active", "past_due", "canceled")
CHANGE_STATUSES = ("pending", "charged", "applied")
CHANGE_EVENTS = ("subscribe", "upgrade", "schedule_downgrade", "end_now")
# (event, from status, to status): the subscription state machine.
TRANSITIONS = (
    ("cancel", "active", "active"),
    ("end", "active", "canceled"),
    ("end_now", "past_due", "canceled"),
    ("expire", "past_due", "canceled"),
    ("renew", "active", "active"),
    ("renew", "past_due", "active"),
    ("renewal_failed", "active", "past_due"),
    ("renewal_failed", "past_due", "past_due"),
    ("resume", "active", "active"),
    ("schedule_downgrade", "active", "active"),
    ("subscribe", "active", "active"),
    ("subscribe", "canceled", "active"),
    ("subscribe", "past_due", "active"),
    ("switch_to_free", "active", "active"),
    ("upgrade", "active", "active"),
)


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _seed() -> None:
    plans = op.create_table(
        "billing_plans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("rank", sa.SmallInteger, nullable=False, unique=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.CheckConstraint("price_cents >= 0", name="billing_plans_price_nonnegative"),
        sa.CheckConstraint("interval = 'month'", name="billing_plans_monthly"),
    )
    features = op.create_table(
        "billing_features",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("type IN ('boolean', 'limit')", name="billing_features_type"),
    )
    values = op.create_table(
        "billing_plan_features",
        sa.Column("plan_id", sa.String(32), primary_key=True),
        sa.Column("feature_key", sa.String(64), primary_key=True),
        sa.Column("enabled", sa.Boolean),
        sa.Column("limit_value", sa.BigInteger),
        sa.CheckConstraint("enabled IS NULL OR limit_value IS NULL", name="billing_pf_one_value"),
        sa.CheckConstraint("limit_value IS NULL OR limit_value >= 0", name="billing_pf_limit"),
    )
    op.bulk_insert(
        plans,
        [
            {"id": i, "name": n, "price_cents": p, "currency": "USD", "interval": "month",
             "rank": r, "active": True}
            for i, n, p, r in PLANS
        ],
    )  # fmt: skip
    op.bulk_insert(
        features,
        [
            {"key": k, "name": n, "type": t, "description": d, "position": i}
            for i, (k, t, n, d, _v) in enumerate(FEATURES)
        ],
    )
    op.bulk_insert(
        values,
        [
            {"plan_id": plan[0], "feature_key": k,
             "enabled": v if t == B else None, "limit_value": v if t == L else None}
            for k, t, _n, _d, per_plan in FEATURES
            for plan, v in zip(PLANS, per_plan, strict=True)
        ],
    )  # fmt: skip


def _subscriptions() -> None:
    op.create_table(
        "billing_subscriptions",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("plan_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("current_period_start", UTCDateTime),
        sa.Column("current_period_end", UTCDateTime),
        sa.Column("anchor_day", sa.SmallInteger),
        sa.Column("cancel_at_period_end", sa.Boolean, nullable=False),
        sa.Column("scheduled_plan", sa.String(32)),
        sa.Column("payment_method", sa.String(64)),
        sa.Column("failed_attempts", sa.SmallInteger, nullable=False),
        sa.Column("grace_until", UTCDateTime),
        sa.Column("due_at", UTCDateTime),
        sa.Column("change_id", sa.String(36)),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint(f"status IN ({_in(STATUSES)})", name="billing_subscriptions_status"),
        sa.CheckConstraint(
            "(current_period_start IS NULL) = (current_period_end IS NULL)"
            " AND (current_period_start IS NULL OR current_period_start < current_period_end)",
            name="billing_subscriptions_period",
        ),
        sa.CheckConstraint(
            "status <> 'past_due' OR grace_until IS NOT NULL", name="billing_subscriptions_grace"
        ),
        sa.CheckConstraint(
            "anchor_day IS NULL OR anchor_day BETWEEN 1 AND 31", name="billing_subscriptions_anchor"
        ),
        sa.CheckConstraint(
            "failed_attempts >= 0 AND version >= 1", name="billing_subscriptions_counters"
        ),
    )
    op.create_index("billing_subscriptions_due", "billing_subscriptions", ["due_at", "user_id"])
    triples = ", ".join(f"'{e}:{f}:{t}'" for e, f, t in TRANSITIONS)
    op.create_table(
        "billing_subscription_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("from_plan", sa.String(32), nullable=False),
        sa.Column("to_plan", sa.String(32), nullable=False),
        sa.Column("mrr_cents", sa.BigInteger, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("entry_id", sa.String(64)),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        # The transition table, enforced: no history row for a change it does not allow.
        sa.CheckConstraint(
            f"event || ':' || from_status || ':' || to_status IN ({triples})",
            name="billing_subscription_events_transition",
        ),
        sa.CheckConstraint(
            "mrr_cents >= 0 AND amount_cents >= 0", name="billing_subscription_events_amounts"
        ),
    )
    op.create_index(
        "billing_subscription_events_by_user", "billing_subscription_events", ["user_id", "at"]
    )
    op.create_index("billing_subscription_events_by_at", "billing_subscription_events", ["at"])


def _changes() -> None:
    op.create_table(
        "billing_changes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("principal", sa.String(128), nullable=False),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("plan_id", sa.String(32), nullable=False),
        sa.Column("payment_method", sa.String(64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("anchor_day", sa.SmallInteger, nullable=False),
        sa.Column("base_version", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("charge_id", sa.String(255)),
        sa.Column("entry_id", sa.String(64)),
        sa.Column("result", sa.JSON),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("user_id", "principal", "request_key", name="billing_changes_key"),
        sa.CheckConstraint(f"status IN ({_in(CHANGE_STATUSES)})", name="billing_changes_status"),
        sa.CheckConstraint(f"event IN ({_in(CHANGE_EVENTS)})", name="billing_changes_event"),
        sa.CheckConstraint("amount_cents >= 0", name="billing_changes_amount"),
        sa.CheckConstraint(
            "status NOT IN ('charged', 'applied') OR amount_cents = 0 OR entry_id IS NOT NULL",
            name="billing_changes_charged_has_entry",
        ),
    )


def upgrade() -> None:
    _seed()
    _subscriptions()
    _changes()


def downgrade() -> None:
    for table in (
        "billing_changes",
        "billing_subscription_events",
        "billing_subscriptions",
        "billing_plan_features",
        "billing_features",
        "billing_plans",
    ):
        op.drop_table(table)
