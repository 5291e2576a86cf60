"""Database wiring: engines from settings, and Alembic upgrades."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> None:
    """Apply every migration (all branch heads) to ``engine``'s database."""
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")


def grant_app_role(engine: Engine, role: str, password: str | None) -> tuple[list[str], list[str]]:
    """Create (if needed) and grant ``role``: append-only on journal tables.

    Journal tables are those guarded by the append-only trigger function; every other table
    in the schema is a projection the service rewrites. Returns (journal, projections).
    """
    from sqlalchemy import text

    from ledger.store.ddl import PG_FUNCTION

    if not role.replace("_", "").isalnum() or not role[0].isalpha():
        raise ValueError(f"role name {role!r} must be letters, digits and underscores")
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        if password is not None:
            conn.execute(
                text(f"ALTER ROLE \"{role}\" PASSWORD '{password.replace(chr(39), chr(39) * 2)}'")
            )
        tables = sorted(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
        )
        journal = sorted(
            set(
                conn.execute(
                    text(
                        "SELECT DISTINCT c.relname FROM pg_trigger t "
                        "JOIN pg_class c ON c.oid = t.tgrelid "
                        "JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = :f"
                    ),
                    {"f": PG_FUNCTION},
                ).scalars()
            )
        )
        projections = [t for t in tables if t not in journal]
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
        for table in journal:
            conn.execute(text(f'REVOKE ALL ON "{table}" FROM "{role}"'))
            conn.execute(text(f'GRANT SELECT, INSERT ON "{table}" TO "{role}"'))
        for table in projections:
            conn.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO "{role}"'))
    return journal, projections
