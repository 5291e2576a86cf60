"""Tables of webhooks; the schema itself is migration ``0070_webhooks``.

``webhooks_endpoints``: one row per endpoint (soft-deleted: the delivery log outlives it),
with its secret (needed to sign every delivery), how far into the journal its deliveries
were made (``scanned_seq``), when it may next be tried (``next_attempt_at``, pushed back
after a failure) and who holds it now (``lease_token`` until ``lease_until``: one sender per
endpoint at a time, across processes). ``webhooks_deliveries``: one row per event and
endpoint, ``pending`` until ``delivered`` or ``failed`` (given up). ``webhooks_attempts``:
the log of every try, with the HTTP status or the error.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
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
)

from ledger import UTCDateTime

metadata = MetaData()

DELIVERY_STATUSES = ("pending", "delivered", "failed")

webhooks_endpoints = Table(
    "webhooks_endpoints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("owner", String(160), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("kinds", Text, nullable=False),  # a JSON list of kind patterns; [] = every kind
    Column("description", String(200), nullable=False),
    Column("secret", String(256), nullable=False),  # sealed (monetization.sealing)
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    Column("scanned_seq", BigInteger, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("lease_token", String(32)),
    Column("lease_until", UTCDateTime),
)
Index("webhooks_endpoints_by_owner", webhooks_endpoints.c.owner, webhooks_endpoints.c.created_at)
Index("webhooks_endpoints_due", webhooks_endpoints.c.next_attempt_at)

webhooks_deliveries = Table(
    "webhooks_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("endpoint_id", String(36), ForeignKey("webhooks_endpoints.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_id", String(36), nullable=False),
    Column("type", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retry_until", UTCDateTime, nullable=False),
    Column("last_attempt_at", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", String(500)),
    Column("delivered_at", UTCDateTime),
    UniqueConstraint("endpoint_id", "seq", name="webhooks_deliveries_one_per_event"),
    CheckConstraint(
        "status IN ('pending', 'delivered', 'failed')", name="webhooks_deliveries_status"
    ),
)
Index(
    "webhooks_deliveries_queue",
    webhooks_deliveries.c.endpoint_id,
    webhooks_deliveries.c.status,
    webhooks_deliveries.c.seq,
)

webhooks_attempts = Table(
    "webhooks_attempts",
    metadata,
    Column("delivery_id", String(36), ForeignKey("webhooks_deliveries.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer),
    Column("error", String(500)),
    Column("duration_ms", Integer, nullable=False),
    PrimaryKeyConstraint("delivery_id", "number"),
)
