"""One anchoring leader per round across processes."""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

LEADER_LOCK_KEY = zlib.crc32(b"azora-anchoring")  # pg advisory lock id


@contextlib.contextmanager
def leader_lock(engine: Engine) -> Iterator[bool]:
    """One leader per round across processes: a PostgreSQL advisory lock, or a file lock
    beside the SQLite database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY}
                ).scalar_one()
            )
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
                conn.commit()
        return
    database = make_url(str(engine.url)).database or "ledger"
    path = Path(f"{database}.anchor.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
