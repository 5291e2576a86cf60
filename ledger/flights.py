"""The group-commit writer's cached batches back to back, on PostgreSQL.

With one writer thread and no hooks, a batch that the writer's cache covers is launched
(:mod:`ledger.store.pg_flight`) rather than committed and waited for; while the server
writes and flushes it, the writer lets the next callers queue, decides their batch as the
first will leave the journal and launches it too, and only then lands the first: reads its
answer and tells its callers. So the server has the next batch the moment it has committed
one, and the writer's Python runs while the server works instead of after it.

Every batch that does not fly (not covered by the cache, refused by a value, or behind one
that wrote nothing) takes the writer's usual round, in the order the batches came. When the
connection is lost with batches in the air, their answers are unknown (the first may have
committed): they take the usual round too, on a new connection, which replays by its
idempotency key whatever had committed, as for any answer lost with a connection; a
command without a key may then be written twice, as it may on any path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import psycopg
from sqlalchemy import Connection

from ledger.commands import Command, Outcome
from ledger.journal import new_entry_id
from ledger.metrics import WriterRecorder
from ledger.snapshot import HeadCache
from ledger.store import pg_flight
from ledger.store.pg_batch import GATHER_AFTER, GATHER_S

log = logging.getLogger(__name__)


class Waiting(Protocol):
    """A caller's request in the writer's queue."""

    @property
    def commands(self) -> Sequence[Command]: ...


class Session(Protocol):
    """The writer thread's connection and its cache."""

    cache: HeadCache

    def get(self) -> Connection: ...

    def discard(self) -> None: ...


R = TypeVar("R", bound=Waiting)


@dataclass(eq=False)
class _Flying(Generic[R]):
    requests: list[R]
    flight: pg_flight.Flight
    locked: Callable[[], None]


@dataclass
class Flights(Generic[R]):
    """Rounds of launched batches; what cannot fly goes to ``usual``."""

    gather: Callable[[list[R]], bool]  # adds queued requests to a batch; True on stop
    usual: Callable[[list[R], bool, Any], bool]  # the usual round (batch, stop, session)
    settle: Callable[[list[R], list[Outcome]], None]  # tells a committed batch's callers
    clock: Callable[[], Any]
    record: WriterRecorder
    _broken: bool = field(default=False, init=False)

    def run(self, batch: list[R], stop: bool, session: Session) -> bool:
        """Fly ``batch`` and whatever queues behind it until the queue is empty (or a batch
        cannot fly); True on stop. Every request given or gathered is settled on return."""
        if not stop and session.cache.last_batch >= GATHER_AFTER:
            time.sleep(GATHER_S)  # concurrent callers: let them join the first batch
            stop = self.gather(batch)
        flying: _Flying[R] | None = None
        while True:
            sent = self._launch(session, batch, flying)
            if sent is None:  # the usual way, after what is in the air
                return self._finish(session, [*self._land(session, flying), batch], stop)
            if flying is not None:
                usual = self._land(session, flying)
                if usual:  # it wrote nothing: neither did the batch decided on top of it
                    return self._finish(session, usual + self._land(session, sent), stop)
            flying = sent
            if stop:
                break
            if len(sent.flight.commands) >= GATHER_AFTER:  # concurrent callers, as above
                time.sleep(GATHER_S)  # let them queue while the batch is in the air
            batch = []
            stop = self.gather(batch)
            if not batch:
                break
        return self._finish(session, self._land(session, flying), stop)

    def _launch(
        self, session: Session, requests: list[R], after: _Flying[R] | None
    ) -> _Flying[R] | None:
        if self._broken:
            return None
        commands = [c for r in requests for c in r.commands]
        locked = self.record.lock_timer()
        try:
            raw = _driver(session.get())
            flight = pg_flight.launch(
                raw,
                session.cache,
                None if after is None else after.flight,
                commands,
                now=self.clock(),
                new_id=new_entry_id,
            )
        except psycopg.Error as error:  # the connection: what is in the air is lost too
            log.debug("launching a batch failed: %s", error)
            self._broken = True
            return None
        except Exception as error:  # a value the driver refused, before anything was sent
            log.debug("a batch cannot fly: %r", error)
            return None
        return None if flight is None else _Flying(requests, flight, locked)

    def _land(self, session: Session, flying: _Flying[R] | None) -> list[list[R]]:
        """Land ``flying``: settle it when it committed; else it goes the usual way."""
        if flying is None:
            return []
        outcomes = None
        if not self._broken:
            try:
                outcomes = pg_flight.land(_driver(session.get()), session.cache, flying.flight)
            except Exception as error:  # the connection was lost: the usual path, afresh
                log.debug("a launched batch failed: %s", error)
                self._broken = True
        if outcomes is None:
            return [flying.requests]
        flying.locked()
        self.record.decided(self.record.written(outcomes))
        self.settle(flying.requests, outcomes)
        return []

    def _finish(self, session: Session, usual: list[list[R]], stop: bool) -> bool:
        if self._broken:
            session.discard()  # unknown state: the usual path starts on a new connection
            self._broken = False
        else:
            try:
                pg_flight.leave(_driver(session.get()))
            except Exception:
                session.discard()
        for requests in usual:
            stop = self.usual(requests, stop, session) or stop
        return stop


def _driver(conn: Connection) -> psycopg.Connection[Any]:
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw
