"""What the migrations share, frozen: column types and the append-only DDL as they were.

Migrations are history: a later edit of application code must never change what an old
migration creates, so they import nothing of the application, only this module, alembic and
sqlalchemy. Never change what is here; add new names for new needs.

Amounts are ``NUMERIC(78,0)`` on PostgreSQL and exact decimal text on SQLite (its integers
stop at 64 bits); instants are timezone-aware timestamps (stored as UTC).
"""

from __future__ import annotations

import sqlalchemy as sa

AMOUNT = sa.Numeric(78, 0).with_variant(sa.String(80), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)


def amount_value(units: int, dialect: str) -> int | str:
    """An amount as a migration inserts it: decimal text on SQLite (its driver cannot bind
    integers past 64 bits), the integer elsewhere."""
    return str(units) if dialect == "sqlite" else units


# The function every append-only trigger calls (its name is also how `azora db
# grant-app-role` finds the journal tables).
PG_FUNCTION = "azora_append_only"

PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'azora: % on append-only table % is refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$
"""


def append_only_sql(dialect: str, table: str) -> list[str]:
    """Statements refusing UPDATE, DELETE and TRUNCATE on ``table``."""
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
        ]
    if dialect == "sqlite":
        # SQLite has no TRUNCATE: its "DELETE FROM t" fast path is disabled by a DELETE trigger.
        return [
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'azora: {op} on append-only table {table} is refused'); END"
            for op in ("UPDATE", "DELETE")
        ]
    raise ValueError(f"no append-only triggers for dialect {dialect!r}")


def drop_append_only_sql(dialect: str, table: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_no_{op}" for op in ("update", "delete")]


# --- the redemption state table, as migration 0060_rewards_states built its checks from ---
# A copy of ``monetization/rewards/states.py`` at that revision (a unit test compares the
# two): a later change of the table needs new names here and a new migration.

REDEMPTION_STATUSES_0060 = (
    "requested",
    "held",
    "minting",
    "fulfilled",
    "cancelled",
    "rejected",
    "failed",
    "expired",
)
REDEMPTION_TRANSITIONS_0060 = (
    ("requested", "held"),
    ("held", "minting"),
    ("held", "fulfilled"),
    ("held", "cancelled"),
    ("held", "rejected"),
    ("held", "failed"),
    ("held", "expired"),
    ("minting", "fulfilled"),
    ("minting", "failed"),
    ("minting", "expired"),
)
REDEMPTION_INTENT_VALUES_0060 = ("fulfilled", "cancelled", "rejected", "failed")
# status -> the intents a row in it may carry (None: no intent yet)
REDEMPTION_INTENTS_0060: dict[str, tuple[str | None, ...]] = {
    "requested": (None,),
    "held": (None, "fulfilled", "cancelled", "rejected"),
    "minting": ("fulfilled", "failed"),
    "fulfilled": (None, "fulfilled", "cancelled", "rejected", "failed"),
    "cancelled": (None, "fulfilled", "cancelled", "rejected", "failed"),
    "rejected": (None, "fulfilled", "cancelled", "rejected", "failed"),
    "failed": (None, "fulfilled", "cancelled", "rejected", "failed"),
    "expired": (None, "fulfilled", "cancelled", "rejected", "failed"),
}
