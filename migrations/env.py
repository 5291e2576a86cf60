"""Alembic environment: ``azora db upgrade`` hands it an open connection."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from alembic import context
from sqlalchemy import Connection, create_engine

# Migrations import `migrations.frozen` (and nothing of the application): make the repository
# root importable whatever the working directory.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    # Run as `alembic` directly: the URL from alembic.ini or AZORA_DATABASE_URL.
    url = context.config.get_main_option("sqlalchemy.url") or os.environ["AZORA_DATABASE_URL"]
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
