"""DDL shared by migrations: the triggers that make journal tables append-only.

Kept as plain functions of the dialect name so that every migration that adds a journal
table guards it the same way on PostgreSQL and SQLite.
"""

from __future__ import annotations

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
