"""Enterprise licensing: organizations and members, signing keys, licenses, usage,
white-label settings (branding, domains, SSO) and support tickets.

Revision ID: 0050_licensing
Revises: 0040_marketplace
Create Date: 2026-12-04

Only alembic, sqlalchemy and ``migrations.frozen`` are imported.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen import UTC_DATETIME as TS

revision: str = "0050_licensing"
down_revision: str | Sequence[str] | None = "0040_marketplace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("owner", "admin", "member")
TIERS = ("starter", "professional", "enterprise", "custom")
BILLING_STATUSES = ("none", "current", "past_due", "unpaid", "ended")
METRICS = ("api_calls", "storage_bytes", "active_users")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("open", "pending", "resolved", "closed")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _org_fk() -> sa.ForeignKey:
    return sa.ForeignKey("licensing_orgs.id")


def _organizations() -> None:
    op.create_table(
        "licensing_orgs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "licensing_members",
        sa.Column("org_id", sa.String(64), _org_fk(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("joined_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "user_id"),
        sa.CheckConstraint(_in("role", ROLES), name="licensing_members_role"),
    )
    op.create_index("licensing_members_by_user", "licensing_members", ["user_id"])


def _licenses() -> None:
    op.create_table(
        "licensing_signing_keys",
        sa.Column("kid", sa.String(32), primary_key=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS),
        sa.Column("verify_until", TS),
        sa.CheckConstraint(_in("status", ("active", "retired")), name="licensing_keys_status"),
    )
    # At most one active key: two rotations at once cannot both win.
    op.create_index(
        "licensing_signing_keys_one_active", "licensing_signing_keys", ["status"], unique=True,
        postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"),
    )  # fmt: skip
    op.create_table(
        "licensing_licenses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), _org_fk(), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.Column("api_calls_per_month", sa.BigInteger),
        sa.Column("storage_bytes", sa.BigInteger),
        sa.Column("active_users", sa.BigInteger),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("payment_method", sa.String(64)),
        sa.Column(
            "kid", sa.String(32), sa.ForeignKey("licensing_signing_keys.kid"), nullable=False
        ),
        sa.Column("license_key", sa.Text, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("periods_charged", sa.Integer, nullable=False),
        sa.Column("next_charge_at", TS),
        sa.Column("retry_at", TS),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        sa.Column("billing_status", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("principal", sa.String(128)),
        sa.Column("idempotency_key", sa.String(128)),
        sa.Column("fingerprint", sa.String(64)),
        sa.UniqueConstraint("principal", "idempotency_key", name="licensing_licenses_by_key"),
        sa.CheckConstraint(_in("tier", TIERS), name="licensing_licenses_tier"),
        sa.CheckConstraint(_in("billing_status", BILLING_STATUSES), name="licensing_billing"),
        sa.CheckConstraint(
            "seats > 0 AND price_cents >= 0 AND periods_charged >= 0 AND failed_attempts >= 0 "
            "AND expires_at > issued_at",
            name="licensing_licenses_values",
        ),
        sa.CheckConstraint(
            "COALESCE(api_calls_per_month, 0) >= 0 AND COALESCE(storage_bytes, 0) >= 0 "
            "AND COALESCE(active_users, 0) >= 0",
            name="licensing_licenses_limits",
        ),
    )
    op.create_index("licensing_licenses_by_org", "licensing_licenses", ["org_id", "issued_at"])
    op.create_index("licensing_licenses_due", "licensing_licenses", ["retry_at", "next_charge_at"])


def _usage() -> None:
    op.create_table(
        "licensing_usage_events",
        sa.Column("org_id", sa.String(64), _org_fk(), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("month_total", sa.BigInteger, nullable=False),
        sa.Column("limit_value", sa.BigInteger),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "event_id"),
        sa.CheckConstraint(_in("metric", METRICS), name="licensing_usage_events_metric"),
    )
    op.create_table(
        "licensing_usage_totals",
        sa.Column("org_id", sa.String(64), _org_fk(), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "metric", "month"),
        sa.CheckConstraint("total >= 0 AND events >= 0", name="licensing_usage_totals_values"),
    )


def _white_label() -> None:
    op.create_table(
        "licensing_branding",
        sa.Column("org_id", sa.String(64), _org_fk(), primary_key=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("logo_url", sa.String(2048)),
        sa.Column("primary_color", sa.String(7), nullable=False),
        sa.Column("accent_color", sa.String(7)),
        sa.Column("support_email", sa.String(254)),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "licensing_domains",
        sa.Column("org_id", sa.String(64), _org_fk(), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("checked_at", TS),
        sa.Column("verified_at", TS),
        sa.PrimaryKeyConstraint("org_id", "domain"),
        sa.CheckConstraint(_in("status", ("pending", "verified")), name="licensing_domains_st"),
    )
    # A domain is verified for one organization at most.
    op.create_index(
        "licensing_domains_verified_once", "licensing_domains", ["domain"], unique=True,
        postgresql_where=sa.text("status = 'verified'"),
        sqlite_where=sa.text("status = 'verified'"),
    )  # fmt: skip
    op.create_table(
        "licensing_sso",
        sa.Column("org_id", sa.String(64), _org_fk(), primary_key=True),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("issuer", sa.String(2048)),
        sa.Column("client_id", sa.String(255)),
        sa.Column("client_secret_sealed", sa.Text),
        sa.Column("metadata_url", sa.String(2048)),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(_in("protocol", ("oidc", "saml")), name="licensing_sso_protocol"),
    )


def _tickets() -> None:
    op.create_table(
        "licensing_tickets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), _org_fk(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("assignee_id", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("first_response_due_at", TS, nullable=False),
        sa.Column("resolution_due_at", TS, nullable=False),
        sa.Column("first_response_at", TS),
        sa.Column("resolved_at", TS),
        sa.Column("first_response_breached", sa.Boolean, nullable=False),
        sa.Column("resolution_breached", sa.Boolean, nullable=False),
        sa.Column("breached_at", TS),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint(_in("priority", PRIORITIES), name="licensing_tickets_priority"),
        sa.CheckConstraint(_in("status", TICKET_STATUSES), name="licensing_tickets_status"),
    )
    op.create_index("licensing_tickets_by_org", "licensing_tickets", ["org_id", "created_at"])
    op.create_index("licensing_tickets_first_due", "licensing_tickets", ["first_response_due_at"])
    op.create_index("licensing_tickets_resolution_due", "licensing_tickets", ["resolution_due_at"])
    op.create_table(
        "licensing_ticket_comments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "ticket_id", sa.String(36), sa.ForeignKey("licensing_tickets.id"), nullable=False
        ),
        sa.Column("author_kind", sa.String(8), nullable=False),
        sa.Column("author_id", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(_in("author_kind", ("support", "org")), name="licensing_comment_by"),
    )
    op.create_index(
        "licensing_ticket_comments_by_ticket",
        "licensing_ticket_comments",
        ["ticket_id", "created_at"],
    )


def upgrade() -> None:
    _organizations()
    _licenses()
    _usage()
    _white_label()
    _tickets()


def downgrade() -> None:
    for table in (
        "licensing_ticket_comments",
        "licensing_tickets",
        "licensing_sso",
        "licensing_domains",
        "licensing_branding",
        "licensing_usage_totals",
        "licensing_usage_events",
        "licensing_licenses",
        "licensing_signing_keys",
        "licensing_members",
        "licensing_orgs",
    ):
        op.drop_table(table)
