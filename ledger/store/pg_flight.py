"""PostgreSQL: cached batches back to back on the writer's connection (libpq's pipeline).

:func:`ledger.store.pg_fast.commit_cached` sends a batch and waits for its commit before
the writer looks at its queue again: the server idles while the writer decides the next
batch, and the writer idles while the server writes and flushes. Here a cached batch is
*launched* instead: decided from the cache as the batch launched before it will leave it,
sent with a Sync of its own (so it is its own transaction, committed before it is
answered), and not waited for. The writer decides and launches the next batch while the
server works on this one, then *lands* this one: reads its answer, and only then tells its
callers. At most two batches are in the air.

Nothing here weakens a guarantee: each statement checks, under the head lock, that the head
is the one its batch was decided on, and writes nothing otherwise. When a batch writes
nothing (the head moved, a stored idempotency key, a value the server refused), the batch
launched behind it finds the head is not the one it expects and writes nothing either; the
writer then runs both the usual way (:mod:`ledger.store.pg_batch`), in order. A batch is
reported committed only once its own Sync has come back after its answer.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import generators, pq

from ledger.commands import Command, Outcome
from ledger.snapshot import AccountState, Decision, HeadCache
from ledger.store import pg_fast


@dataclass(frozen=True, slots=True)
class Flight:
    """A launched batch: its commands and its decision, not yet answered."""

    commands: Sequence[Command]
    decision: Decision


def launch(
    raw: psycopg.Connection[Any],
    cache: HeadCache,
    after: Flight | None,
    commands: Sequence[Command],
    *,
    now: datetime,
    new_id: Callable[[], str],
) -> Flight | None:
    """Decide ``commands`` from ``cache`` as ``after`` (launched, not landed) leaves it, and
    send their statement without waiting; None when they must take the usual path
    (nothing was sent then).

    Precondition: ``raw`` has no transaction open; with ``after``, it is in the pipeline
    that launched it.
    """
    known: Mapping[str, AccountState]
    if after is None:
        head, known = cache.head, cache.accounts
    else:
        final = after.decision
        head = (final.head_seq, final.head_hash)
        known = ChainMap({a.account_id: a for a in final.accounts}, cache.accounts)
    statement = pg_fast.decided(head, known, commands, now, new_id)
    if statement is None:
        return None
    pgconn = raw.pgconn
    if pgconn.pipeline_status == pq.PipelineStatus.OFF:
        pg_fast.prepare(raw, statement.types)  # its answer is awaited: before the pipeline
        pgconn.enter_pipeline_mode()
    pg_fast.send(raw, statement.params)
    pgconn.pipeline_sync()
    raw.wait(generators.send(pgconn))
    return Flight(commands, statement.decision)


def land(raw: psycopg.Connection[Any], cache: HeadCache, flight: Flight) -> list[Outcome] | None:
    """Wait for the answer to ``flight`` (the oldest in the air) and bring ``cache`` up to
    date: its outcomes, or None when it wrote nothing. A lost connection raises."""
    results = raw.wait(generators.fetch_many(raw.pgconn))
    synced = raw.wait(generators.fetch_many(raw.pgconn))
    if not results or not synced or synced[0].status != pq.ExecStatus.PIPELINE_SYNC:
        raise psycopg.OperationalError("the pipeline lost its place: the connection is unusable")
    try:
        written = pg_fast.rows_written(raw, results[-1])
    except (pg_fast.StatementGone, psycopg.DatabaseError):
        # The server refused the statement (a value, or it was deallocated): nothing was
        # written, and the connection is sound (its Sync came back); the usual path runs
        # the batch and isolates a refused command.
        written = None
    return pg_fast.landed(cache, len(flight.commands), flight.decision, written)


def leave(raw: psycopg.Connection[Any]) -> None:
    """End the pipeline once every flight has landed (the usual path runs without one)."""
    if raw.pgconn.pipeline_status != pq.PipelineStatus.OFF:
        raw.pgconn.exit_pipeline_mode()
