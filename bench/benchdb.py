"""The benchmarks' own databases: fresh, migrated, on the test server, durable."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from azora.db import upgrade
from ledger.store.engine import make_engine

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/azora_test"


def bench_url(name: str, base: str | None = None) -> str:
    """``name`` on the server of ``base`` (default: ``$AZORA_TEST_PG_URL``)."""
    server = make_url(base or os.environ.get("AZORA_TEST_PG_URL") or DEFAULT_SERVER)
    return server.set(database=name).render_as_string(hide_password=False)


def fresh_database(url: str, *, migrate: bool = True) -> str:
    """Recreate the database ``url`` names, migrate it, and check commits are durable.

    Drops only a database that exists: a DROP waits for every backend of the server, and a
    long COPY elsewhere can hold that up for minutes.
    """
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if found is not None:
            conn.execute(text(f'DROP DATABASE "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    with engine.connect() as conn:
        sync = conn.execute(text("SHOW synchronous_commit")).scalar_one()
        fsync = conn.execute(text("SHOW fsync")).scalar_one()
    engine.dispose()
    if sync != "on" or fsync != "on":
        raise SystemExit(f"durable commits needed: synchronous_commit={sync}, fsync={fsync}")
    return url


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
