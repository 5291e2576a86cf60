"""The group-commit writer's own database connection and how it is prepared."""

from __future__ import annotations

import logging

import psycopg
from sqlalchemy import Connection, Engine

from ledger.snapshot import HeadCache
from ledger.store.engine import WRITE_TXN

log = logging.getLogger(__name__)

NEVER_AUTO_PREPARE = 2**62  # psycopg's prepare_threshold: None would refuse prepare=True


def writer_session(conn: Connection) -> Connection:
    """Prepare a connection that the group-commit writer keeps for its transactions.

    On PostgreSQL, only the write statements are prepared (they ask for it), and they keep a
    generic plan: they write whatever arrays they are given, and planning their five
    data-modifying parts cost about 0.45 ms per batch, the better part of a small batch's
    time in the server. Every other statement of this connection (the reads under the head
    lock, the hooks') is never prepared, so PostgreSQL plans it for its actual parameters
    each time: a generic plan of the ``column = ANY($1)`` probes is costed on the tables as
    they were, and a journal that started empty kept a sequential scan of ``entries`` per
    batch for as long as the connection lived (measured: 280 ms per batch at 40k entries,
    instead of < 1 ms).
    """
    conn.execution_options(**WRITE_TXN)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        raw.prepare_threshold = NEVER_AUTO_PREPARE  # only statements asked to are prepared
        conn.exec_driver_sql("DEALLOCATE ALL")  # what the pool's users had prepared (psycopg
        conn.exec_driver_sql("SET plan_cache_mode = auto")  # forgets them too)
        conn.commit()
    return conn


class WriterSession:
    """The writer thread's own connection, opened on first use and after a failure."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self.cache = HeadCache()  # what this connection committed last (ledger.store.pg_fast)

    def get(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect()
            try:
                self._conn = writer_session(conn)
            except BaseException:
                conn.close()
                raise
        return self._conn

    def discard(self) -> None:
        """Close the connection for good: it may be broken, and it carries session settings."""
        conn, self._conn = self._conn, None
        self.cache.clear()
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # closing a dead connection may fail too
                log.debug("discarding the writer connection failed", exc_info=True)
