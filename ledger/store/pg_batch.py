"""PostgreSQL: a batch's reads in one round trip, its writes and commit in another.

The same steps as :mod:`ledger.store.loading` and :mod:`ledger.store.writing`, on the
driver's connection in pipeline mode: every statement of a step is sent before the first
answer is awaited. Each round trip costs more than the statement it carries on a busy
machine (the writer waits for the server to be scheduled, then for its own thread to get
the interpreter back), so a batch costs two waits instead of a dozen. Inserts go through
``unnest`` of arrays (one statement per table, the same text for any batch size); COPY
cannot share a pipeline.

A batch that the writer's cache covers skips the first round trip altogether
(:mod:`ledger.store.pg_fast`); anything else, and every fallback from there, comes here.

The token log is appended in the write step too (its leaves and Merkle nodes follow from
its size and frontier, read in the load step): see :mod:`ledger.tokenlog`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from ledger.commands import Command, Outcome, PostEntry
from ledger.deciding import decide
from ledger.model import Entry, Limit
from ledger.money import AZR
from ledger.snapshot import (
    AccountState,
    Decision,
    HeadCache,
    IdemKey,
    Needs,
    Snapshot,
    accounts_of,
    needs_of,
)
from ledger.store import pg_fast
from ledger.store.loading import count_usage, limit_order
from ledger.store.pg_arrays import teach
from ledger.store.pg_sql import ENTRY_COLUMNS, WRITE_JOURNAL, columns, journal_columns
from ledger.store.rows import entry_from_row
from ledger.tokenlog import LogState, log_rows

_SELECT_ENTRIES = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE "  # noqa: S608
LOCK_HEAD = "SELECT seq, hash FROM journal_head WHERE id = 1 FOR UPDATE"
_LOCK_BALANCES = (
    "SELECT account_id, asset, allow_negative, balance, pending_out, pending_in, last_seq "
    "FROM balances WHERE account_id = ANY(%s::text[]) ORDER BY account_id FOR UPDATE"
)
_USAGE = (
    "SELECT %s::int AS i, amount FROM entry_lines WHERE account_id = %s AND kind = %s "
    "AND effective_at >= %s AND effective_at < %s"
)
# The log's size (as level -1) and its frontier: node (b, (n >> b) - 1) per set bit b of n.
_LOG_STATE = """
WITH s AS (SELECT coalesce(max(leaf_index) + 1, 0)::bigint AS n FROM token_leaves)
SELECT -1 AS level, s.n AS idx, NULL::bytea AS hash FROM s
UNION ALL
SELECT m.level, m.idx, m.hash FROM s, generate_series(0, 62) AS g (b), merkle_nodes AS m
WHERE ((s.n >> g.b) & 1) = 1 AND m.level = g.b AND m.idx = (s.n >> g.b) - 1
"""
_INSERT_LEAVES = (
    "INSERT INTO token_leaves (leaf_index, seq, entry_id, leaf, leaf_hash) SELECT * FROM "
    "unnest(%b::bigint[], %b::bigint[], %b::text[], %b::text[], %b::bytea[])"
)
_INSERT_NODES = (
    "INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM "
    "unnest(%b::smallint[], %b::bigint[], %b::bytea[])"
)


Hook = Callable[[Connection, Sequence[Entry]], None]

# A batch covered by the writer's cache takes no lock before it is decided; when this
# writer's previous batch held at least GATHER_AFTER commands (concurrent callers), it
# waits GATHER_S for more to queue first, as PostgreSQL's commit_delay does for commits.
GATHER_AFTER = 4
GATHER_S = 0.001


def commit_batch(
    conn: Connection,
    commands: Sequence[Command],
    now: datetime,
    hooks: Sequence[Hook],
    *,
    new_id: Callable[[], str],
    top_up: Callable[[], Sequence[Command]] | None = None,
    locked: Callable[[], None] | None = None,
    cache: HeadCache | None = None,
    try_cached: bool = True,
) -> list[Outcome]:
    """Load, decide, write and commit ``commands`` in a transaction of their own.

    ``cache``: what this connection's writer committed last. Without hooks, a batch it
    covers takes one round trip (:mod:`ledger.store.pg_fast`) unless ``try_cached`` is
    false; any other batch updates it. ``locked`` is called once the head lock is held.

    ``top_up`` is called once the head lock is held: the commands it returns (those that
    queued while this writer waited for the lock) join the batch, after ``commands``; the
    outcomes cover both. Precondition: ``conn`` has no transaction open. Driver errors are
    raised as SQLAlchemy's (``OperationalError``, ``DataError``...), as every path raises them.
    """
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    on_lock = locked or _unobserved
    if hooks:
        cache = None  # hooks run between the writes and the commit: the usual path
    with _translated(conn, raw):
        commands = list(commands)
        if cache is not None and try_cached:
            if top_up is not None and cache.last_batch >= GATHER_AFTER:
                # No lock to wait for: give concurrent callers the time the reads under
                # the lock would have taken to join this batch (fewer, larger commits).
                time.sleep(GATHER_S)
                commands += top_up()
                top_up = None  # taken: the usual path, if it comes to that, decides them too
            done = pg_fast.commit_cached(raw, cache, commands, now, new_id)
            if done is not None:
                on_lock()  # the lock was taken (and let go) inside its one round trip
                return done
        with_log = _may_move_tokens(commands)
        snapshot, log = load_snapshot(raw, needs_of(commands), with_log=with_log)
        on_lock()
        more = list(top_up()) if top_up is not None else []
        if more:
            snapshot, log = _top_up(
                raw, snapshot, log, needs_of(more), with_log=with_log,
                more_log=_may_move_tokens(more),
            )  # fmt: skip
            commands += more
        decision = decide(snapshot, commands, now, new_id)
        if not decision.entries:
            raw.rollback()  # nothing to keep: release the locks without waiting for a flush
            pg_fast.forget(raw)
        elif not hooks:
            write(raw, decision, log, commit=True)
        else:
            write(raw, decision, log, commit=False)
            for hook in hooks:
                hook(conn, decision.entries)
            if conn.in_transaction():  # a hook ran SQL through SQLAlchemy
                conn.commit()
            raw.commit()  # (a no-op when SQLAlchemy's commit just did it)
        if cache is not None:
            cache.last_batch = len(commands)
            cache.observed((snapshot.head_seq, snapshot.head_hash), snapshot.accounts)
            if decision.entries:
                cache.committed((decision.head_seq, decision.head_hash), decision.accounts)
    return list(decision.outcomes)


def _unobserved() -> None:
    pass


def _top_up(
    raw: psycopg.Connection[Any],
    snapshot: Snapshot,
    log: LogState | None,
    needs: Needs,
    *,
    with_log: bool,
    more_log: bool,
) -> tuple[Snapshot, LogState | None]:
    """``snapshot`` with what ``needs`` adds, read under the head lock already held."""
    extra = Needs(
        keys=needs.keys - set(snapshot.by_key),
        entry_ids=needs.entry_ids - set(snapshot.by_id),
        reverse_ids=needs.reverse_ids - set(snapshot.reversal_of),
        accounts=needs.accounts - set(snapshot.accounts),
        limits=needs.limits - set(snapshot.limit_usage),
    )
    added, added_log = load_snapshot(raw, extra, with_log=more_log and not with_log)
    return (
        replace(
            snapshot,
            by_key={**snapshot.by_key, **added.by_key},
            by_id={**snapshot.by_id, **added.by_id},
            resolution_of={**snapshot.resolution_of, **added.resolution_of},
            reversal_of={**snapshot.reversal_of, **added.reversal_of},
            accounts={**snapshot.accounts, **added.accounts},
            limit_usage={**snapshot.limit_usage, **added.limit_usage},
        ),
        log if log is not None else added_log,
    )


@contextmanager
def _translated(conn: Connection, raw: psycopg.Connection[Any]) -> Iterator[None]:
    """Roll back on any failure; raise a driver error as SQLAlchemy's class of it."""
    try:
        yield
    except BaseException as error:
        with suppress(psycopg.Error):  # a broken connection: the writer discards it
            raw.rollback()
        pg_fast.forget(raw)
        dbapi_error = conn.dialect.loaded_dbapi.Error
        if isinstance(error, dbapi_error):
            raise DBAPIError.instance("", None, error, dbapi_error) from error
        raise


def _may_move_tokens(commands: Sequence[Command]) -> bool:
    """Whether the batch may append to the token log (a resolution or reversal may)."""
    return any(
        not isinstance(c, PostEntry) or any(p.asset == AZR.code for p in c.request.postings)
        for c in commands
    )


def load_snapshot(
    raw: psycopg.Connection[Any], needs: Needs, *, with_log: bool
) -> tuple[Snapshot, LogState | None]:
    """Lock the head and read everything ``needs`` names (and, ``with_log``, the token log's
    size and frontier) in one round trip; two when a hold or a reversal names accounts no
    new posting does."""
    ids = sorted(needs.entry_ids)
    limits = sorted(needs.limits, key=limit_order)
    with raw.pipeline():
        head_read = raw.execute(LOCK_HEAD)
        key_reads = [
            (principal, _entries_where(raw, "idempotency_key", keys, principal=principal))
            for principal, keys in _keys_by_principal(needs.keys)
        ]
        by_id_read = _entries_where(raw, "id", ids)
        resolutions_read = _entries_where(raw, "hold_id", ids)
        reversals_read = _entries_where(raw, "reverses_id", sorted(needs.reverse_ids))
        balances_read = _lock(raw, needs.accounts)
        usage_read = _usage(raw, limits)
        log_read = raw.execute(_LOG_STATE) if with_log else None
        head = head_read.fetchone()  # one sync: every answer above has arrived
    assert head is not None
    by_key: dict[IdemKey, Entry] = {}
    for principal, read in key_reads:
        for e in _entries(read):
            by_key[(principal, e.idempotency_key or "")] = e
    by_id = {e.id: e for e in _entries(by_id_read)}
    accounts = _accounts(balances_read)
    missing = {a for e in by_id.values() for a in accounts_of(e.postings)} - set(accounts)
    if missing:
        accounts.update(_accounts(_lock(raw, missing)))
    snapshot = Snapshot(
        head_seq=int(head[0]),
        head_hash=bytes(head[1]),
        by_key=by_key,
        by_id=by_id,
        resolution_of={e.hold_id or "": e for e in _entries(resolutions_read)},
        reversal_of={e.reverses_id or "": e for e in _entries(reversals_read)},
        accounts=accounts,
        limit_usage=_usage_totals(limits, usage_read),
    )
    return snapshot, None if log_read is None else _log_state(log_read)


def _log_state(read: psycopg.Cursor[Any]) -> LogState:
    size, nodes = 0, {}
    for level, idx, digest in read:
        if level == -1:
            size = int(idx)
        else:
            nodes[(int(level), int(idx))] = bytes(digest)
    return LogState(size, nodes)


def _keys_by_principal(keys: Iterable[IdemKey]) -> list[tuple[str, list[str]]]:
    # One query per principal (a batch usually has one): "key = ANY(...) AND principal = p"
    # walks the unique index.
    by_principal: dict[str, list[str]] = {}
    for principal, key in keys:
        by_principal.setdefault(principal, []).append(key)
    return [(p, sorted(k)) for p, k in sorted(by_principal.items())]


def write(
    raw: psycopg.Connection[Any], decision: Decision, log: LogState | None, *, commit: bool
) -> None:
    """Send every write of ``decision`` (and, with ``commit``, the commit): one round trip.

    Precondition: ``raw`` is in the transaction that :func:`load_snapshot` opened; ``log``
    was read there whenever ``decision`` moves AZR.
    """
    teach(raw)
    with raw.pipeline():
        if decision.entries:
            raw.execute(
                WRITE_JOURNAL,
                [*journal_columns(decision), decision.head_seq, decision.head_hash],
                prepare=True,
            )
            leaves, nodes = log_rows(log or LogState(0, {}), decision.entries) if log else ([], [])
            if leaves:
                raw.execute(_INSERT_LEAVES, columns(leaves, 5))
                raw.execute(_INSERT_NODES, columns(nodes, 3))
        if commit:
            raw.commit()


def _entries_where(
    raw: psycopg.Connection[Any],
    column: str,
    values: Sequence[str],
    *,
    principal: str | None = None,
) -> psycopg.Cursor[Any] | None:
    if not values:
        return None
    sql = _SELECT_ENTRIES + f"{column} = ANY(%s::text[])"
    params: tuple[object, ...] = (list(values),)
    if principal is not None:
        sql, params = sql + " AND principal = %s", (*params, principal)
    return raw.cursor(row_factory=namedtuple_row).execute(sql, params)


def _entries(read: psycopg.Cursor[Any] | None) -> list[Entry]:
    return [] if read is None else [_entry(row) for row in read]


def _lock(raw: psycopg.Connection[Any], account_ids: Collection[str]) -> psycopg.Cursor[Any] | None:
    if not account_ids:
        return None
    return raw.cursor().execute(_LOCK_BALANCES, (sorted(account_ids),))


def _accounts(read: psycopg.Cursor[Any] | None) -> dict[str, AccountState]:
    if read is None:
        return {}
    return {
        r[0]: AccountState(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6]))
        for r in read
    }


def _usage(raw: psycopg.Connection[Any], limits: Sequence[Limit]) -> psycopg.Cursor[Any] | None:
    if not limits:
        return None
    sql = " UNION ALL ".join([_USAGE] * len(limits))
    params: list[object] = []
    for i, limit in enumerate(limits):
        params += [i, limit.account_id, limit.kind, limit.since, limit.until]
    return raw.cursor().execute(sql, params)


def _usage_totals(limits: Sequence[Limit], read: psycopg.Cursor[Any] | None) -> dict[Limit, int]:
    return count_usage(dict.fromkeys(limits, 0), limits, read or ())


def _entry(row: Any) -> Entry:
    """An entry read by the driver: the same value the SQLAlchemy path builds."""
    e = entry_from_row(row)
    return replace(
        e,
        effective_at=_utc(e.effective_at),
        recorded_at=_utc(e.recorded_at),
        expires_at=None if e.expires_at is None else _utc(e.expires_at),
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
