"""PostgreSQL: a batch in one round trip, decided from what this writer committed last.

The usual batch (:mod:`ledger.store.pg_batch`) takes two round trips: its reads under the
journal head lock, then its writes and the commit. When this writer connection's
:class:`~ledger.snapshot.HeadCache` holds the head it last committed and the balance rows
of every account the batch names, the batch is decided from the cache instead, and its
writes go in one statement that first locks the head row and checks that it is still the
cached one; every write of the statement is conditional on that check. The statement runs
on its own (autocommit): PostgreSQL commits it, durably, before it answers, so the batch
costs one round trip and no ``BEGIN`` or ``COMMIT`` of its own. It is prepared, with a
generic plan (see :func:`ledger.writer_session.writer_session`):

- the head matches: nothing was written since this writer's last commit (every entry moves
  the head, and the head's hash commits to the whole journal), so the cached balances are
  the current ones; they stay locked by the statement's updates until the commit, and the
  ``CHECK`` constraint on balances still refuses any overdraft;
- the head moved (another writer, in any process): the statement writes nothing, and the
  batch runs the usual way (the caller's fallback);
- a new entry's idempotency key is already stored (a retry of an earlier request): its
  unique index refuses the insert, the statement (its own transaction) writes nothing,
  and the usual path reads the key and replays the entry. A racing duplicate from another
  process cannot slip between: it holds the head lock while it writes, so this statement
  waits for it and then finds the head moved.

Only plain entries without limits and without AZR (the token log) are eligible, and only
when every outcome is an entry or a refusal of a command without idempotency key (a
refusal with a key may be a replay the cache cannot see): anything else takes the usual
path, which decides with everything read under the lock.
"""

from __future__ import annotations

import itertools
import re
import struct
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from psycopg import errors, generators, pq

from ledger.commands import Command, Outcome, PostEntry
from ledger.deciding import decide
from ledger.errors import LedgerError
from ledger.money import AZR
from ledger.snapshot import AccountState, Decision, HeadCache, Snapshot
from ledger.store.pg_arrays import BYTEA, INT8, array_oid
from ledger.store.pg_sql import (
    INSERT_ENTRIES,
    INSERT_LINES,
    UPDATE_BALANCES,
    journal_columns,
)

_IF_HEAD = " EXISTS (SELECT FROM h)"
# h: the head row, locked, if it still is the cached one (after waiting for any writer
# holding it, the row is checked again as that writer left it).
_FAST_WRITE = (
    "WITH h AS (SELECT id FROM journal_head WHERE id = 1 AND seq = %s AND hash = %s "  # noqa: S608
    f"FOR UPDATE), e AS ({INSERT_ENTRIES} WHERE{_IF_HEAD}), "
    f"l AS ({INSERT_LINES} WHERE{_IF_HEAD}), b AS ({UPDATE_BALANCES} AND{_IF_HEAD}) "
    f"UPDATE journal_head SET seq = %s, hash = %s WHERE id = 1 AND{_IF_HEAD}"
)

NAME = b"azora_cached_write"


def _numbered(sql: str) -> bytes:
    """``sql`` with its ``%s``/``%b`` placeholders as libpq's ``$1``, ``$2``..."""
    count = itertools.count(1)
    return re.sub(r"%[sb]", lambda _match: f"${next(count)}", sql).encode()


_SQL = _numbered(_FAST_WRITE)
_BIGINT = struct.Struct(">q")
_UNIQUE_VIOLATION = b"23505"
_NO_SUCH_STATEMENT = b"26000"  # deallocated since it was prepared
_ALREADY_PREPARED = b"42P05"
_prepared: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()


def cached_snapshot(
    head: tuple[int, bytes] | None, known: Mapping[str, AccountState], commands: Sequence[Command]
) -> Snapshot | None:
    """The snapshot that ``head`` and the balance rows ``known`` at it give ``commands``, or
    None when they are not eligible."""
    if head is None:
        return None
    accounts: dict[str, AccountState] = {}
    for c in commands:
        if not isinstance(c, PostEntry) or c.request.limits:
            return None
        for p in c.request.postings:
            if p.asset == AZR.code:
                return None
            for account_id in (p.source, p.destination):
                found = known.get(account_id)
                if found is None:
                    return None
                accounts[account_id] = found
    head_seq, head_hash = head
    return Snapshot(
        head_seq=head_seq,
        head_hash=head_hash,
        by_key={},
        by_id={},
        resolution_of={},
        reversal_of={},
        accounts=accounts,
        limit_usage={},
    )


class Statement(NamedTuple):
    """A cached batch's decision and the parameters of its one statement."""

    decision: Decision
    params: list[bytes]
    types: list[int]


def decided(
    head: tuple[int, bytes] | None,
    known: Mapping[str, AccountState],
    commands: Sequence[Command],
    now: datetime,
    new_id: Callable[[], str],
) -> Statement | None:
    """``commands`` decided from ``head`` and ``known``, with their statement's parameters;
    None when they must take the usual path."""
    snapshot = cached_snapshot(head, known, commands)
    if snapshot is None:
        return None
    decision = decide(snapshot, commands, now, new_id)
    if not decision.entries or not _answerable(commands, decision):
        return None
    columns = journal_columns(decision)
    params = [
        _BIGINT.pack(snapshot.head_seq),
        snapshot.head_hash,
        *columns,
        _BIGINT.pack(decision.head_seq),
        decision.head_hash,
    ]
    types = [INT8.oid, BYTEA.oid, *map(array_oid, columns), INT8.oid, BYTEA.oid]
    return Statement(decision, params, types)


def commit_cached(
    raw: psycopg.Connection[Any],
    cache: HeadCache,
    commands: Sequence[Command],
    now: datetime,
    new_id: Callable[[], str],
) -> list[Outcome] | None:
    """Decide ``commands`` from ``cache``, write them in one statement that commits on its
    own; None when they must take the usual path (nothing was written then).

    Precondition: ``raw`` has no transaction open (the statement runs outside one).
    """
    statement = decided(cache.head, cache.accounts, commands, now, new_id)
    if statement is None:
        return None
    for attempt in range(2):
        prepare(raw, statement.types)
        send(raw, statement.params)
        try:
            written = rows_written(raw, raw.wait(generators.execute(raw.pgconn))[-1])
            break
        except StatementGone:  # prepared again on the second attempt
            if attempt:
                raise
    return landed(cache, len(commands), statement.decision, written)


def landed(
    cache: HeadCache, commands: int, decision: Decision, written: int | None
) -> list[Outcome] | None:
    """The outcomes of a cached batch whose statement changed ``written`` head rows (None: a
    unique index refused a row), with ``cache`` brought up to date; None when nothing was
    written."""
    if written is None:  # a stored idempotency key: nothing was written
        return None
    if written != 1:  # the head moved: nothing was written
        cache.clear()
        return None
    cache.committed((decision.head_seq, decision.head_hash), decision.accounts)
    cache.last_batch = commands
    return list(decision.outcomes)


def _answerable(commands: Sequence[Command], decision: Decision) -> bool:
    """Whether every outcome holds whatever the cache could not see: a refused command
    with an idempotency key may be the replay of a stored entry instead."""
    return not any(
        isinstance(outcome, LedgerError) and isinstance(c, PostEntry) and c.idempotency_key
        for c, outcome in zip(commands, decision.outcomes, strict=True)
    )


# The statement goes straight through libpq (psycopg's cursor machinery costs more than a
# small batch's Python here), outside any transaction: it is its own, committed before the
# server answers.


def prepare(raw: psycopg.Connection[Any], types: list[int]) -> None:
    """Prepare the cached batch's statement on ``raw`` unless it is (no pipeline open)."""
    if raw not in _prepared:
        raw.pgconn.send_prepare(NAME, _SQL, param_types=types)
        result = raw.wait(generators.execute(raw.pgconn))[-1]
        if result.error_field(pq.DiagnosticField.SQLSTATE) != _ALREADY_PREPARED:
            _check(raw, result)  # (a rollback that deallocated nothing leaves it prepared)
        _prepared.add(raw)


def forget(raw: psycopg.Connection[Any]) -> None:
    """``raw`` rolled back: psycopg then deallocates every prepared statement of the session
    when it had prepared some (its own and this one), so the next batch prepares this one
    again."""
    _prepared.discard(raw)


def send(raw: psycopg.Connection[Any], params: list[bytes]) -> None:
    """Queue the prepared statement with ``params`` in binary (the caller flushes or waits)."""
    raw.pgconn.send_query_prepared(NAME, params, param_formats=[pq.Format.BINARY] * len(params))


class StatementGone(Exception):
    """The cached batch's statement is no longer prepared on the connection (deallocated
    behind this module's back): nothing was written; the next :func:`prepare` prepares it."""


def rows_written(raw: psycopg.Connection[Any], result: pq.abc.PGresult) -> int | None:
    """What the statement's ``result`` says: the head rows it changed (1 or 0), or None when
    a unique index refused a row (a stored idempotency key); raises :class:`StatementGone`
    or, for any other error, the driver's."""
    state = result.error_field(pq.DiagnosticField.SQLSTATE)
    if state == _UNIQUE_VIOLATION:
        return None
    if state == _NO_SUCH_STATEMENT:
        _prepared.discard(raw)
        raise StatementGone
    _check(raw, result)
    return int(result.command_tuples or 0)


def _check(raw: psycopg.Connection[Any], result: pq.abc.PGresult) -> None:
    if result.status == pq.ExecStatus.FATAL_ERROR:
        raise errors.error_from_result(result, encoding=raw.info.encoding)
