"""Engines for PostgreSQL and SQLite with the settings the ledger relies on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_S = 30
# Execution option asking SQLite for a write lock when the transaction begins, so two
# writers queue on the lock instead of failing to upgrade a read lock half-way.
WRITE_TXN = {"azora_write": True}


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files get WAL, durable commits and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        echo=echo,
        # Plan every execution for its parameters: a generic plan cached while a table was
        # empty (psycopg prepares a statement after 5 runs) can keep scanning it once full.
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
    )


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    # Nothing is created here: a missing file is refused by the caller before it builds an
    # engine, and `azora db upgrade` makes the directory (it is the one that creates).
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        echo=echo,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("azora_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
