"""PostgreSQL: a batch in one round trip, decided from what this writer committed last.

The usual batch (:mod:`ledger.store.pg_batch`) takes two round trips: its reads under the
journal head lock, then its writes and the commit. When this writer connection's
:class:`~ledger.snapshot.HeadCache` holds the head it last committed and the balance rows
of every account the batch names, the batch is decided from the cache instead, and its
writes go in one statement that first locks the head row and checks that it is still the
cached one; every write of the statement is conditional on that check. The statement runs
on its own (autocommit): PostgreSQL commits it, durably, before it answers, so the batch
costs one round trip and no ``BEGIN`` or ``COMMIT`` of its own. It is prepared, with a
generic plan (see :func:`ledger.writer.writer_session`):

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
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

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

_NAME = b"azora_cached_write"


def _numbered(sql: str) -> bytes:
    """``sql`` with its ``%s``/``%b`` placeholders as libpq's ``$1``, ``$2``..."""
    count = itertools.count(1)
    return re.sub(r"%[sb]", lambda _match: f"${next(count)}", sql).encode()


_SQL = _numbered(_FAST_WRITE)
_BIGINT = struct.Struct(">q")
_UNIQUE_VIOLATION = b"23505"
_NO_SUCH_STATEMENT = b"26000"  # DEALLOCATE ALL ran since (a new writer session)
_prepared: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()


def cached_snapshot(cache: HeadCache, commands: Sequence[Command]) -> Snapshot | None:
    """The snapshot the cache gives ``commands``, or None when they are not eligible."""
    if cache.head is None:
        return None
    accounts: dict[str, AccountState] = {}
    for c in commands:
        if not isinstance(c, PostEntry) or c.request.limits:
            return None
        for p in c.request.postings:
            if p.asset == AZR.code:
                return None
            for account_id in (p.source, p.destination):
                found = cache.accounts.get(account_id)
                if found is None:
                    return None
                accounts[account_id] = found
    head_seq, head_hash = cache.head
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
    snapshot = cached_snapshot(cache, commands)
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
    written = _execute(raw, params, types)
    if written is None:  # a stored idempotency key: nothing was written
        return None
    if written != 1:  # the head moved: nothing was written
        cache.clear()
        return None
    cache.committed((decision.head_seq, decision.head_hash), decision.accounts)
    cache.last_batch = len(commands)
    return list(decision.outcomes)


def _answerable(commands: Sequence[Command], decision: Decision) -> bool:
    """Whether every outcome holds whatever the cache could not see: a refused command
    with an idempotency key may be the replay of a stored entry instead."""
    return not any(
        isinstance(outcome, LedgerError) and isinstance(c, PostEntry) and c.idempotency_key
        for c, outcome in zip(commands, decision.outcomes, strict=True)
    )


def _execute(raw: psycopg.Connection[Any], params: list[bytes], types: list[int]) -> int | None:
    """Run the cached batch's statement, prepared on ``raw``, with ``params`` in binary: the
    rows it changed in the head (1 or 0), or None when a unique index refused a row.

    Straight through libpq (psycopg's cursor machinery costs more than a small batch's
    Python here), outside any transaction: the one statement is its own, committed before
    the server answers.
    """
    for _attempt in range(2):
        if raw not in _prepared:
            raw.pgconn.send_prepare(_NAME, _SQL, param_types=types)
            _check(raw, raw.wait(generators.execute(raw.pgconn)))
            _prepared.add(raw)
        raw.pgconn.send_query_prepared(
            _NAME, params, param_formats=[pq.Format.BINARY] * len(params)
        )
        result = raw.wait(generators.execute(raw.pgconn))[-1]
        state = result.error_field(pq.DiagnosticField.SQLSTATE)
        if state == _UNIQUE_VIOLATION:
            return None
        if state == _NO_SUCH_STATEMENT:
            _prepared.discard(raw)
            continue
        _check(raw, [result])
        return int(result.command_tuples or 0)
    raise AssertionError("the cached write statement could not be prepared")


def _check(raw: psycopg.Connection[Any], results: list[pq.abc.PGresult]) -> None:
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise errors.error_from_result(result, encoding=raw.info.encoding)
