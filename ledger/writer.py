"""Writers: how batches of commands reach :func:`ledger.journal.apply_batch`.

:class:`DirectWriter` runs each call in the caller's thread, one transaction per call (with
one command per call, the naive "transaction and row locks per entry" path).
:class:`GroupCommitWriter` is group commit: callers hand their commands to one writer
thread, which takes everything queued (up to ``max_batch`` commands), applies it in one
transaction and commits once, while new requests queue for the next round.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ledger.commands import Command, Outcome
from ledger.errors import Unavailable
from ledger.journal import BatchHook, apply_batch
from ledger.store.engine import WRITE_TXN

log = logging.getLogger(__name__)

MAX_BATCH_COMMANDS = 1000
MAX_ATTEMPTS = 5
RETRY_BASE_S = 0.01
SUBMIT_TIMEOUT_S = 60.0

Clock = Callable[[], datetime]


def run_transaction(
    engine: Engine, commands: Sequence[Command], clock: Clock, hooks: Sequence[BatchHook]
) -> list[Outcome]:
    """Apply ``commands`` in one transaction, retrying transient database failures.

    Deadlocks, serialization failures, a busy SQLite file and dropped connections are
    retried with jittered backoff (nothing was committed); past ``MAX_ATTEMPTS`` the whole
    batch fails with :class:`Unavailable`.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
                return apply_batch(conn, commands, clock(), hooks)
        except (OperationalError, IntegrityError) as error:
            if attempt == MAX_ATTEMPTS:
                raise Unavailable(f"the database kept failing: {error.orig!r}") from error
            log.warning("batch attempt %d failed, retrying: %s", attempt, error.orig)
            time.sleep(RETRY_BASE_S * 2**attempt * random.random())  # noqa: S311
        except DBAPIError as error:
            raise Unavailable(f"database error: {error.orig!r}") from error
    raise AssertionError("unreachable")


class DirectWriter:
    """One transaction per call, in the caller's thread."""

    def __init__(self, engine: Engine, clock: Clock, hooks: Sequence[BatchHook] = ()) -> None:
        self._engine, self._clock, self._hooks = engine, clock, tuple(hooks)

    def submit(self, commands: Sequence[Command]) -> list[Outcome]:
        return run_transaction(self._engine, commands, self._clock, self._hooks)

    def close(self) -> None:
        pass


class _Request:
    __slots__ = ("commands", "future")

    def __init__(self, commands: Sequence[Command]) -> None:
        self.commands = commands
        self.future: Future[list[Outcome]] = Future()


_STOP = object()


class GroupCommitWriter:
    """One writer thread per process; concurrent callers share its transactions."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        hooks: Sequence[BatchHook] = (),
        max_batch: int = MAX_BATCH_COMMANDS,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._engine, self._clock, self._hooks = engine, clock, tuple(hooks)
        self._max_batch = max_batch
        self._queue: queue.Queue[_Request | object] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="azora-ledger-writer", daemon=True)
        self._thread.start()

    def submit(self, commands: Sequence[Command]) -> list[Outcome]:
        if self._closed:
            raise Unavailable("the ledger writer is closed")
        if not commands:
            return []
        request = _Request(commands)
        self._queue.put(request)
        return request.future.result(timeout=SUBMIT_TIMEOUT_S)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout=SUBMIT_TIMEOUT_S)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Request)
            batch, stop = self._gather(first)
            self._apply(batch)
            if stop:
                return

    def _gather(self, first: _Request) -> tuple[list[_Request], bool]:
        batch, count = [first], len(first.commands)
        while count < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            assert isinstance(item, _Request)
            batch.append(item)
            count += len(item.commands)
        return batch, False

    def _apply(self, batch: list[_Request]) -> None:
        commands = [c for request in batch for c in request.commands]
        try:
            outcomes = run_transaction(self._engine, commands, self._clock, self._hooks)
        except Exception as error:  # every waiting caller learns why
            for request in batch:
                request.future.set_exception(error)
            return
        start = 0
        for request in batch:
            end = start + len(request.commands)
            request.future.set_result(outcomes[start:end])
            start = end
