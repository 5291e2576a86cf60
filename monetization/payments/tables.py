"""Tables of the payments domain; the schema itself is migration ``0011_payments``.

``payments_attempts``: one row per provider idempotency key with the latest outcome of
that charge (the payment success rate is read here: refused charges never reach the
ledger). ``payments_webhook_events``: every provider event handled, by id, forever.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table

from ledger import UTCDateTime

metadata = MetaData()

payments_attempts = Table(
    "payments_attempts",
    metadata,
    Column("idempotency_key", String(128), primary_key=True),
    Column("customer", String(64), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_method", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("charge_id", String(255)),
    Column("entry_id", String(64)),
    Column("refunded_cents", BigInteger, nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("payments_attempts_by_time", payments_attempts.c.attempted_at)
Index("payments_attempts_by_charge", payments_attempts.c.charge_id)

payments_webhook_events = Table(
    "payments_webhook_events",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("type", String(100), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)
