"""Writers: how batches of commands reach :func:`ledger.journal.apply_batch`.

:class:`DirectWriter` runs each call in the caller's thread, one transaction per call (with
one command per call, the naive "transaction and row locks per entry" path).
:class:`GroupCommitWriter` is group commit: callers hand their commands to one writer
thread, which applies everything queued (up to ``max_batch`` commands) in one transaction
and commits once, while new requests queue for the next round.

Both take callers from threads (``submit``, blocking) and from asyncio (``submit_async``).
An asyncio caller of the group-commit writer costs no thread: it enqueues its commands and
awaits a future of its own event loop, which the writer completes with one
``call_soon_threadsafe`` per loop and batch. The HTTP write routes use that: no threadpool
hop per request, and no thread per waiting request competing with the writer for the GIL.

How the group-commit writer gathers a batch: it waits for a first request, takes what is
queued with it, and sends their reads behind the journal head lock; once it holds the lock
it takes the rest of the queue too (``top_up`` of :func:`ledger.journal.commit_batch`).
With several processes, each with its own writer, the head lock is where they queue for one
another; whatever arrives while this writer waits there joins this batch instead of waiting
for the next one. Alone, the lock is free and nothing waits. On PostgreSQL, with one writer
thread, a batch the writer's cache covers skips all that: it is sent without waiting, and
the next one is decided while it is in the air (:mod:`ledger.flights`).

The group-commit writer keeps one database connection of its own (no pool checkout and
liveness ping per batch); on PostgreSQL only its write statements are prepared (see
:func:`ledger.writer_session.writer_session`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, StatementError

from ledger.commands import Command, Outcome
from ledger.errors import Unavailable, Unstorable
from ledger.journal import BatchHook, commit_batch
from ledger.metrics import NO_METRICS, WriterMetrics, WriterRecorder
from ledger.writer_session import WriterSession

if TYPE_CHECKING:
    from ledger.flights import Flights

log = logging.getLogger(__name__)

MAX_BATCH_COMMANDS = 1000
MAX_WRITER_THREADS = 8
MAX_ATTEMPTS = 5
RETRY_BASE_S = 0.01
SUBMIT_TIMEOUT_S = 60.0
UNAVAILABLE_DETAIL = "the database is unavailable; nothing was written, retry later"
UNSTORABLE_DETAIL = (
    "the database refused a value of this request (text or a number it cannot store); "
    "nothing was written for it"
)

Clock = Callable[[], datetime]
T = TypeVar("T")


class _Refused(Exception):
    """The database refused a value of the batch (a data error): some command is at fault."""


def _is_data_error(error: BaseException) -> bool:
    """Errors caused by a value of some command, not by the database or the connection.

    A driver's data exception (PostgreSQL class 22: a NUL in text, a value out of range), a
    value SQLAlchemy or the driver could not bind, text that does not encode as UTF-8.
    Running the same commands again fails the same way, so they are not retried.
    """
    if isinstance(error, DataError):
        return True
    if isinstance(error, StatementError) and not isinstance(error, DBAPIError):
        return True  # raised while binding parameters
    return isinstance(error, (ValueError, TypeError, OverflowError))


def _with_retries(attempt: Callable[[], T]) -> T:
    """Run one database attempt, retrying transient failures with jittered backoff.

    Deadlocks, serialization failures, a busy SQLite file and dropped connections are
    retried (nothing was committed); past ``MAX_ATTEMPTS`` they are :class:`Unavailable`,
    as is any other database error at once. A data error is :class:`_Refused`. The
    driver's message goes to the log, never into an error's detail.
    """
    for number in range(1, MAX_ATTEMPTS + 1):
        try:
            return attempt()
        except (OperationalError, IntegrityError) as error:
            if number == MAX_ATTEMPTS:
                log.error("the database kept failing, giving up: %s", error.orig)
                raise Unavailable(UNAVAILABLE_DETAIL) from error
            log.warning("batch attempt %d failed, retrying: %s", number, error.orig)
            time.sleep(RETRY_BASE_S * 2**number * random.random())  # noqa: S311
        except Exception as error:
            if _is_data_error(error):
                raise _Refused() from error
            if isinstance(error, DBAPIError):
                log.error("database error: %s", error.orig)
                raise Unavailable(UNAVAILABLE_DETAIL) from error
            raise
    raise AssertionError("unreachable")


def apply_isolating(
    run: Callable[[Sequence[Command]], list[Outcome]],
    commands: Sequence[Command],
    *,
    failed: bool = False,
) -> list[Outcome]:
    """``run(commands)`` (one transaction each call); when the database refuses a value,
    split the batch in halves and run each, until the refused command stands alone.

    That command is :class:`Unstorable`; every other commits, in order, in
    O(refused * log n) transactions. ``failed``: ``run(commands)`` is known to fail already.
    """
    if not failed:
        try:
            return run(commands)
        except _Refused as refused:
            if len(commands) == 1:
                log.warning("the database refused a command's value: %r", refused.__cause__)
                return [Unstorable(UNSTORABLE_DETAIL)]
        except Unavailable as error:  # as values: other parts of the batch may have committed
            return [error] * len(commands)
    if len(commands) == 1:
        return [Unstorable(UNSTORABLE_DETAIL)]
    middle = len(commands) // 2
    return apply_isolating(run, commands[:middle]) + apply_isolating(run, commands[middle:])


def run_transaction(
    engine: Engine,
    commands: Sequence[Command],
    clock: Clock,
    hooks: Sequence[BatchHook],
    record: WriterRecorder | None = None,
) -> list[Outcome]:
    """Apply ``commands`` in one transaction on a pooled connection, with retries; a command
    whose value the database refuses is isolated (:func:`apply_isolating`)."""
    record = record or WriterRecorder()

    def run(subset: Sequence[Command]) -> list[Outcome]:
        def attempt() -> list[Outcome]:
            with engine.connect() as conn:
                done = commit_batch(conn, subset, clock(), hooks, locked=record.lock_timer())
                return record.written(done)

        return _with_retries(attempt)

    return apply_isolating(run, commands)


class DirectWriter:
    """One transaction per call, in the caller's thread."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        hooks: Sequence[BatchHook] = (),
        *,
        metrics: WriterMetrics = NO_METRICS,
    ) -> None:
        self._engine, self._clock, self._hooks = engine, clock, tuple(hooks)
        self._record = WriterRecorder(metrics)

    def submit(self, commands: Sequence[Command]) -> list[Outcome]:
        outcomes = run_transaction(self._engine, commands, self._clock, self._hooks, self._record)
        self._record.decided(outcomes)
        return outcomes

    async def submit_async(self, commands: Sequence[Command]) -> list[Outcome]:
        """:meth:`submit` for asyncio callers: the transaction runs in a worker thread."""
        return await asyncio.to_thread(self.submit, commands)

    def close(self) -> None:
        pass


Result = list[Outcome] | BaseException


class _Request:
    """Commands waiting for the writer, and how to tell their caller the outcome.

    A thread caller blocks on ``future`` (a concurrent future); an asyncio caller awaits
    ``waiter``, a future of its ``loop`` that only that loop's thread may complete.
    """

    __slots__ = ("commands", "future", "loop", "waiter")

    def __init__(
        self,
        commands: Sequence[Command],
        loop: asyncio.AbstractEventLoop | None = None,
        waiter: asyncio.Future[list[Outcome]] | None = None,
    ) -> None:
        self.commands = commands
        self.future: Future[list[Outcome]] | None = None if waiter is not None else Future()
        self.loop = loop
        self.waiter = waiter


def _settle_waiters(settled: list[tuple[_Request, Result]]) -> None:
    """In the waiters' event loop: complete each asyncio future still waiting."""
    for request, result in settled:
        waiter = request.waiter
        if waiter is None or waiter.done():  # cancelled (client gone): the batch still stands
            continue
        if isinstance(result, BaseException):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)


def _time_out(waiter: asyncio.Future[list[Outcome]]) -> None:
    if not waiter.done():  # the writer settles it later: it finds it done and skips it
        waiter.set_exception(TimeoutError(f"no outcome within {SUBMIT_TIMEOUT_S:.0f} s"))


_STOP = object()


def _commands_of(batch: Sequence[_Request]) -> list[Command]:
    return [c for request in batch for c in request.commands]


def _per_request(batch: Sequence[_Request], outcomes: Sequence[Outcome]) -> list[Result]:
    """A batch's outcomes, cut into each request's own."""
    results: list[Result] = []
    start = 0
    for request in batch:
        end = start + len(request.commands)
        results.append(list(outcomes[start:end]))
        start = end
    return results


def default_writer_threads(engine: Engine) -> int:
    """One, on every database: on PostgreSQL one thread keeps its cache current and flies
    its batches back to back (:mod:`ledger.flights`), which a second thread would give up;
    on SQLite the write lock is the file's, so a second writer would only wait."""
    return 1


class GroupCommitWriter:
    """Writer threads of one process; concurrent callers share their transactions.

    With one thread, each round takes the head lock and then whatever queued meanwhile (or,
    for batches the cache covers on PostgreSQL, flies them back to back: ledger.flights).
    With ``threads`` > 1 the rounds overlap: while one batch commits (and waits for the
    disk), the next batch's reads already wait behind it at the head lock, so the server
    grants them the moment the first commits instead of a round trip later. Batches still
    commit one at a time, each under the head lock: ``seq`` and the chain stay one line.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        hooks: Sequence[BatchHook] = (),
        max_batch: int = MAX_BATCH_COMMANDS,
        threads: int | None = None,
        *,
        metrics: WriterMetrics = NO_METRICS,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        threads = default_writer_threads(engine) if threads is None else threads
        if not 1 <= threads <= MAX_WRITER_THREADS:
            raise ValueError(f"threads must be within 1..{MAX_WRITER_THREADS}, got {threads}")
        self._engine, self._clock, self._hooks = engine, clock, tuple(hooks)
        self._max_batch = max_batch
        self._record = WriterRecorder(metrics)
        self._top_up = threads == 1
        self._flights = self._flight_deck(engine) if threads == 1 and not hooks else None
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()  # put() in C
        self._closed = False
        self._threads = [
            threading.Thread(
                target=self._run,
                args=(WriterSession(engine),),
                name=f"azora-ledger-writer-{n}",
                daemon=True,
            )
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def _flight_deck(self, engine: Engine) -> Flights[_Request] | None:
        """On PostgreSQL, cached batches back to back (:mod:`ledger.flights`)."""
        if engine.dialect.name != "postgresql":
            return None
        from ledger.flights import Flights  # the driver's own API: only on PostgreSQL

        return Flights(
            gather=self._gather,
            usual=lambda batch, stop, session: self._commit_gathered(
                batch, stop, session, flown=True
            ),
            settle=self._settle_outcomes,
            clock=self._clock,
            record=self._record,
        )

    def submit(self, commands: Sequence[Command]) -> list[Outcome]:
        """Hand ``commands`` to the writer and block until their batch is committed."""
        if self._closed:
            raise Unavailable("the ledger writer is closed")
        if not commands:
            return []
        request = _Request(commands)
        self._queue.put(request)
        assert request.future is not None
        return request.future.result(timeout=SUBMIT_TIMEOUT_S)

    async def submit_async(self, commands: Sequence[Command]) -> list[Outcome]:
        """:meth:`submit` for asyncio callers, blocking neither the event loop nor a thread.

        Cancelling the awaiting task does not withdraw the commands: once queued they are
        decided and committed with their batch (as with a thread caller that gives up).
        """
        if self._closed:
            raise Unavailable("the ledger writer is closed")
        if not commands:
            return []
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[list[Outcome]] = loop.create_future()
        self._queue.put(_Request(commands, loop, waiter))
        # asyncio.wait_for's timeout, without its second future and callbacks (wait_for was
        # 7% of the event loop's samples per single entry in one profile).
        timer = loop.call_later(SUBMIT_TIMEOUT_S, _time_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)  # each thread passes it on to the next before leaving
            for thread in self._threads:
                thread.join(timeout=SUBMIT_TIMEOUT_S)

    def _run(self, session: WriterSession) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is _STOP or (
                    isinstance(first, _Request) and self._commit_round(first, session)
                ):
                    self._queue.put(_STOP)
                    return
        finally:
            session.discard()

    def _commit_round(self, first: _Request, session: WriterSession) -> bool:
        """Gather a batch behind ``first``, apply it, tell its callers; True on stop."""
        batch = [first]
        stop = self._gather(batch)
        if self._flights is not None and session.cache.head is not None:
            return self._flights.run(batch, stop, session)
        return self._commit_gathered(batch, stop, session)

    def _commit_gathered(
        self, batch: list[_Request], stop: bool, session: WriterSession, *, flown: bool = False
    ) -> bool:
        """Apply a gathered batch (the usual round), tell its callers; True on stop.

        ``flown``: the batch came back from :mod:`ledger.flights` (it was tried as a cached
        batch, or could not be): no top-up, no cached attempt, straight to the usual path.
        """
        state = {"topped": flown or not self._top_up, "stop": stop}

        def top_up() -> list[Command]:
            """Once the head lock is held: what queued meanwhile joins this batch (with one
            thread; with more, the next thread takes it and waits behind this batch)."""
            if state["topped"] or state["stop"] or self._queue.empty():
                return []
            state["topped"] = True
            known = len(batch)
            state["stop"] = self._gather(batch)
            return _commands_of(batch[known:])

        def attempt(subset: Sequence[Command] | None) -> list[Outcome]:
            conn = session.get()
            commands = _commands_of(batch) if subset is None else subset
            try:
                done = commit_batch(
                    conn,
                    commands,
                    self._clock(),
                    self._hooks,
                    top_up=top_up if subset is None else None,
                    locked=self._record.lock_timer(),
                    cache=session.cache,
                    try_cached=not flown,
                )
                return self._record.written(done)
            except BaseException:
                session.discard()  # a failed connection may be unusable: start afresh
                raise

        results: list[Result]
        try:
            try:
                outcomes = _with_retries(lambda: attempt(None))
            except _Refused:  # one command's value: commit the others without it
                outcomes = apply_isolating(
                    lambda subset: _with_retries(lambda: attempt(subset)),
                    _commands_of(batch),
                    failed=True,
                )
        except Exception as error:  # every caller of the batch learns why
            results = [error] * len(batch)
            self._record.decided([error] * len(_commands_of(batch)))
        else:
            self._record.decided(outcomes)
            results = _per_request(batch, outcomes)
        self._settle(batch, results)
        return state["stop"]

    def _settle_outcomes(self, batch: list[_Request], outcomes: list[Outcome]) -> None:
        self._settle(batch, _per_request(batch, outcomes))

    def _gather(self, batch: list[_Request]) -> bool:
        """Add queued requests to ``batch`` up to ``max_batch`` commands; True on stop."""
        count = sum(len(r.commands) for r in batch)
        while count < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            assert isinstance(item, _Request)
            batch.append(item)
            count += len(item.commands)
        return False

    @staticmethod
    def _settle(batch: list[_Request], results: list[Result]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Request, Result]]] = {}
        for request, result in zip(batch, results, strict=True):
            if request.future is not None:
                if isinstance(result, BaseException):
                    request.future.set_exception(result)
                else:
                    request.future.set_result(result)
            else:
                assert request.loop is not None
                by_loop.setdefault(request.loop, []).append((request, result))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_waiters, settled)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                log.debug("event loop closed before %d requests were settled", len(settled))
