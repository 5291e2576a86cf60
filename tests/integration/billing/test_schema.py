"""The migrated billing and payments schema is exactly the declared tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from monetization.billing.tables import metadata as billing_metadata
from monetization.payments.tables import metadata as payments_metadata

PREFIXES = ("billing_", "payments_")


def _ours(diff: object) -> bool:
    text = repr(diff)
    return any(f"'{p}" in text or f"Table('{p}" in text for p in PREFIXES)


def test_migrations_create_exactly_the_declared_tables(engine: Engine) -> None:
    declared = MetaData()
    for source in (billing_metadata, payments_metadata):
        for table in source.tables.values():
            table.to_metadata(declared)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, declared) if _ours(d)]
    assert diffs == []
