"""The database as the command line and the composition root see it: migrations, the check
that it exists before anything touches it, and the app role.

Alembic is handed an open connection, never a URL string: its ini-style configuration treats
``%`` as interpolation, and a rendered URL escapes ``:`` and ``@`` as ``%3A`` / ``%40`` (a
multi-host URL, most generated passwords). URLs shown to people go through
:func:`display_url`, which masks the password.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

PG_FUNCTION = "azora_append_only"  # the trigger function of migrations/frozen.py

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
HOW_TO_CREATE = "create it with `azora db upgrade` (or `make run`)"


class DatabaseMissing(RuntimeError):
    """The configured database does not exist or is not migrated to the code's schema."""


def display_url(url: str) -> str:
    """``url`` for messages and logs: the password masked, never shown."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show none of it
        return "<unparsable database URL>"


def alembic_config() -> Config:
    # Migrations import `migrations.frozen` (never the application): the repository root
    # must be importable whatever the working directory.
    root = str(MIGRATIONS_DIR.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other back ends and in-memory databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def prepare_sqlite_directory(url: str) -> None:
    """``azora db upgrade`` creates the database: for SQLite, its directory first."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def upgrade(engine: Engine) -> None:
    """Apply every migration (all branch heads) to ``engine``'s database."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")


def require_database(url: str) -> None:
    """Refuse, creating nothing, when the database at ``url`` is absent or not migrated.

    Called before any engine is built for ``url`` (SQLite would create an empty file).
    """
    shown = display_url(url)
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise DatabaseMissing(
            f"no database at {shown} (file {path} does not exist): {HOW_TO_CREATE}"
        )


def require_current_schema(engine: Engine) -> None:
    """:class:`DatabaseMissing` unless the database answers and is at the code's migrations."""
    shown = display_url(str(engine.url))
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as error:
        reason = _connect_reason(error)
        raise DatabaseMissing(f"cannot use the database at {shown}: {reason}") from None
    wanted = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    if not current:
        raise DatabaseMissing(f"the database at {shown} has no schema yet: {HOW_TO_CREATE}")
    if current != wanted:
        raise DatabaseMissing(
            f"the database at {shown} is at migration {', '.join(sorted(current))}, the code "
            f"needs {', '.join(sorted(wanted))}: run `azora db upgrade`"
        )


def _connect_reason(error: SQLAlchemyError) -> str:
    """A driver's complaint in our words: its text may carry the URL or other details."""
    message = str(getattr(error, "orig", error)).lower()
    if "does not exist" in message:
        return f"it does not exist; {HOW_TO_CREATE}"
    if "password authentication failed" in message or "authentication" in message:
        return "authentication failed (check the user and password of AZORA_DATABASE_URL)"
    if "connection refused" in message or "could not connect" in message:
        return "nothing answers at its host and port (is PostgreSQL running?)"
    if "timeout" in message:
        return "the connection timed out"
    return f"the driver refused the connection ({type(getattr(error, 'orig', error)).__name__})"


def grant_app_role(engine: Engine, role: str, password: str | None) -> tuple[list[str], list[str]]:
    """Create (if needed) and grant ``role``: append-only on journal tables.

    Journal tables are those guarded by the append-only trigger function; every other table
    in the schema is a projection the service rewrites. Returns (journal, projections).
    """
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
        tables = sorted(inspect(conn).get_table_names())
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
