"""Tables of the licensing domain; the schema itself is migration ``0050_licensing``.

No money here: license charges are ledger entries made through the payments service.
Personal data (names, e-mail addresses, ticket texts) lives only in these tables, never in
the journal, so it can be erased without touching anything hashed.

``licensing_orgs`` and ``licensing_members`` (one seat each); ``licensing_signing_keys``
(public halves only: the private keys are derived from the configured secret);
``licensing_licenses`` with their charging state; ``licensing_usage_events`` (one row per
event id, forever) and ``licensing_usage_totals`` (per org, metric and UTC month);
``licensing_branding``, ``licensing_domains``, ``licensing_sso`` (the client secret
encrypted); ``licensing_tickets`` and ``licensing_ticket_comments``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ledger import UTCDateTime

metadata = MetaData()

licensing_orgs = Table(
    "licensing_orgs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

licensing_members = Table(
    "licensing_members",
    metadata,
    Column("org_id", String(64), ForeignKey("licensing_orgs.id"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("role", String(8), nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("org_id", "user_id"),
)
Index("licensing_members_by_user", licensing_members.c.user_id)

licensing_signing_keys = Table(
    "licensing_signing_keys",
    metadata,
    Column("kid", String(32), primary_key=True),
    Column("public_key", String(64), nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime),
    # The latest expiry of a license it signed: published (and verifying) until then.
    Column("verify_until", UTCDateTime),
)
Index(
    "licensing_signing_keys_one_active",
    licensing_signing_keys.c.status,
    unique=True,
    postgresql_where=text("status = 'active'"),
    sqlite_where=text("status = 'active'"),
)

licensing_licenses = Table(
    "licensing_licenses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(64), ForeignKey("licensing_orgs.id"), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("seats", Integer, nullable=False),
    Column("api_calls_per_month", BigInteger),  # NULL: unlimited
    Column("storage_bytes", BigInteger),
    Column("active_users", BigInteger),
    Column("price_cents", BigInteger, nullable=False),
    Column("payment_method", String(64)),
    Column("kid", String(32), ForeignKey("licensing_signing_keys.kid"), nullable=False),
    Column("license_key", Text, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    # Charging: the next month to charge starts at next_charge_at (NULL: nothing more);
    # after a decline the attempt is retried at retry_at.
    Column("periods_charged", Integer, nullable=False),
    Column("next_charge_at", UTCDateTime),
    Column("retry_at", UTCDateTime),
    Column("failed_attempts", Integer, nullable=False),
    Column("billing_status", String(8), nullable=False),
    Column("version", Integer, nullable=False),
    Column("principal", String(128)),
    Column("idempotency_key", String(128)),
    Column("fingerprint", String(64)),
    UniqueConstraint("principal", "idempotency_key", name="licensing_licenses_by_key"),
)
Index("licensing_licenses_by_org", licensing_licenses.c.org_id, licensing_licenses.c.issued_at)
Index("licensing_licenses_due", licensing_licenses.c.retry_at, licensing_licenses.c.next_charge_at)

licensing_usage_events = Table(
    "licensing_usage_events",
    metadata,
    Column("org_id", String(64), ForeignKey("licensing_orgs.id"), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("metric", String(16), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("month", String(7), nullable=False),
    Column("month_total", BigInteger, nullable=False),
    Column("limit_value", BigInteger),
    Column("recorded_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("org_id", "event_id"),
)

licensing_usage_totals = Table(
    "licensing_usage_totals",
    metadata,
    Column("org_id", String(64), ForeignKey("licensing_orgs.id"), nullable=False),
    Column("metric", String(16), nullable=False),
    Column("month", String(7), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    PrimaryKeyConstraint("org_id", "metric", "month"),
)

licensing_branding = Table(
    "licensing_branding",
    metadata,
    Column("org_id", String(64), ForeignKey("licensing_orgs.id"), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("logo_url", String(2048)),
    Column("primary_color", String(7), nullable=False),
    Column("accent_color", String(7)),
    Column("support_email", String(254)),
    Column("updated_at", UTCDateTime, nullable=False),
)

licensing_domains = Table(
    "licensing_domains",
    metadata,
    Column("org_id", String(64), ForeignKey("licensing_orgs.id"), nullable=False),
    Column("domain", String(253), nullable=False),
    Column("status", String(8), nullable=False),
    Column("token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("checked_at", UTCDateTime),
    Column("verified_at", UTCDateTime),
    PrimaryKeyConstraint("org_id", "domain"),
)
Index(
    "licensing_domains_verified_once",
    licensing_domains.c.domain,
    unique=True,
    postgresql_where=text("status = 'verified'"),
    sqlite_where=text("status = 'verified'"),
)

licensing_sso = Table(
    "licensing_sso",
    metadata,
    Column("org_id", String(64), ForeignKey("licensing_orgs.id"), primary_key=True),
    Column("protocol", String(8), nullable=False),
    Column("issuer", String(2048)),
    Column("client_id", String(255)),
    Column("client_secret_sealed", Text),  # AES-GCM, never returned
    Column("metadata_url", String(2048)),
    Column("updated_at", UTCDateTime, nullable=False),
)

licensing_tickets = Table(
    "licensing_tickets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(64), ForeignKey("licensing_orgs.id"), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("priority", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("assignee_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_response_due_at", UTCDateTime, nullable=False),
    Column("resolution_due_at", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("first_response_breached", Boolean, nullable=False),
    Column("resolution_breached", Boolean, nullable=False),
    Column("breached_at", UTCDateTime),
    Column("version", Integer, nullable=False),
)
Index("licensing_tickets_by_org", licensing_tickets.c.org_id, licensing_tickets.c.created_at)
Index("licensing_tickets_first_due", licensing_tickets.c.first_response_due_at)
Index("licensing_tickets_resolution_due", licensing_tickets.c.resolution_due_at)

licensing_ticket_comments = Table(
    "licensing_ticket_comments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("ticket_id", String(36), ForeignKey("licensing_tickets.id"), nullable=False),
    Column("author_kind", String(8), nullable=False),
    Column("author_id", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index(
    "licensing_ticket_comments_by_ticket",
    licensing_ticket_comments.c.ticket_id,
    licensing_ticket_comments.c.created_at,
)
