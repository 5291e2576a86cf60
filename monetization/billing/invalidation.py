"""Telling every process that a user's plan changed: PostgreSQL LISTEN/NOTIFY.

The transaction that changes plans sends ``NOTIFY billing_plan_changed, '<user>,<user>…'``
(delivered at commit, never for a rollback). Each process keeps one listening connection
in a thread that drops those users from its feature cache. While that connection is down
the cache is bypassed (every check reads the database), and it is emptied when the
connection comes back, so a change is never missed.

SQLite has no NOTIFY: there a check reads the user's plan every time (a primary-key read
in the same file, see ``bench/billing.py``), which is correct across processes too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

CHANNEL = "billing_plan_changed"
PAYLOAD_MAX_BYTES = 7000  # PostgreSQL refuses payloads of 8000 bytes or more
POLL_S = 0.5
RECONNECT_MAX_S = 10.0


def notify_plan_changes(conn: Connection, user_ids: Sequence[str]) -> None:
    """Inside the changing transaction: tell every listener (PostgreSQL only)."""
    if conn.dialect.name != "postgresql" or not user_ids:
        return
    chunk: list[str] = []
    size = 0
    for user_id in user_ids:
        if chunk and size + len(user_id) + 1 > PAYLOAD_MAX_BYTES:
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": ",".join(chunk)})
            chunk, size = [], 0
        chunk.append(user_id)
        size += len(user_id) + 1
    conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": ",".join(chunk)})


class PlanChangeListener:
    """A thread holding ``LISTEN billing_plan_changed`` on its own connection.

    ``on_change(user_ids)`` is called for every notification; ``on_reset()`` whenever the
    connection is (re)established or lost. ``listening`` says whether the cache may be
    trusted right now.
    """

    def __init__(
        self,
        engine: Engine,
        on_change: Callable[[list[str]], None],
        on_reset: Callable[[], None],
    ) -> None:
        assert engine.dialect.name == "postgresql"
        self._engine = engine
        self._on_change = on_change
        self._on_reset = on_reset
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="billing-listen", daemon=True)
        self._thread.start()

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def wait_listening(self, timeout_s: float) -> bool:
        return self._listening.wait(timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _connect(self) -> Any:
        raw = self._engine.raw_connection()
        conn = raw.driver_connection
        assert conn is not None
        raw.detach()  # ours for good: never returned to the pool with LISTEN on it
        conn.rollback()
        conn.autocommit = True
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _run(self) -> None:
        delay_s = 0.1
        while not self._stop.is_set():
            conn = None
            try:
                conn = self._connect()
                self._listening.set()
                self._on_reset()
                delay_s = 0.1
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=POLL_S):
                        self._on_change([u for u in note.payload.split(",") if u])
            except Exception as error:  # any driver failure: bypass the cache, reconnect
                if not self._stop.is_set():
                    log.warning("plan-change listener lost its connection: %r", error)
            finally:
                self._listening.clear()
                self._on_reset()
                if conn is not None:
                    try:
                        conn.close()
                    except Exception as error:
                        log.debug("closing the listener connection: %s", error)
            self._stop.wait(delay_s)
            delay_s = min(RECONNECT_MAX_S, delay_s * 2)
