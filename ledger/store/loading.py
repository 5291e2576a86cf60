"""The writer's reads: everything :func:`ledger.deciding.decide` needs, under the head lock.

In order: the journal head row (locked: every writer in every process queues here, which
makes ``seq`` gapless and the hash chain one line), the entries the commands name by
idempotency key or id, the resolutions and reversals of those, the balance rows of every
account involved (locked in one ordered statement), and the usage of every limit named.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, literal, select, union_all

from ledger.model import Direction, Entry, Limit
from ledger.snapshot import AccountState, IdemKey, Needs, Snapshot, accounts_of
from ledger.store.bulk import member_of
from ledger.store.rows import entry_from_row
from ledger.store.tables import balances, entries, entry_lines, journal_head

# Limit usage is read in one UNION ALL statement per this many limits.
LIMITS_PER_STATEMENT = 100


def lock_head(conn: Connection) -> tuple[int, bytes]:
    """Take the journal head's row lock (waiting for other writers); its (seq, hash)."""
    head = conn.execute(
        select(journal_head.c.seq, journal_head.c.hash)
        .where(journal_head.c.id == 1)
        .with_for_update()
    ).one()
    return int(head.seq), bytes(head.hash)


def load_snapshot(conn: Connection, needs: Needs) -> Snapshot:
    """Lock the head and read what ``needs`` names. Precondition: in a write transaction."""
    head_seq, head_hash = lock_head(conn)
    by_key = entries_by_keys(conn, needs.keys)
    by_id = entries_by_ids(conn, needs.entry_ids)
    # Reversing a posted hold reverses its post_pending resolution: load those too.
    resolution_of = _by_column(conn, entries.c.hold_id, set(by_id))
    reversal_of = _by_column(conn, entries.c.reverses_id, needs.reverse_ids)
    account_ids = set(needs.accounts)
    for e in by_id.values():
        account_ids.update(accounts_of(e.postings))
    return Snapshot(
        head_seq=head_seq,
        head_hash=head_hash,
        by_key=by_key,
        by_id=by_id,
        resolution_of=resolution_of,
        reversal_of=reversal_of,
        accounts=lock_accounts(conn, account_ids),
        limit_usage=limit_usage(conn, needs.limits),
    )


def load_entries_where(conn: Connection, clause: Any) -> list[Entry]:
    """Entries matching ``clause``, in no particular order.

    No ORDER BY on purpose: with one, a prepared statement's generic plan may walk the whole
    primary key in seq order instead of probing the index ``clause`` names.
    """
    return [entry_from_row(r) for r in conn.execute(select(entries).where(clause))]


def entries_by_keys(conn: Connection, keys: Iterable[IdemKey]) -> dict[IdemKey, Entry]:
    # One query per principal (a batch usually has one): "principal = p AND key IN (...)"
    # walks the unique index, where a row-value IN list may not.
    by_principal: dict[str, list[str]] = {}
    for principal, key in keys:
        by_principal.setdefault(principal, []).append(key)
    found: dict[IdemKey, Entry] = {}
    for principal, principal_keys in sorted(by_principal.items()):
        clause = and_(
            member_of(conn, entries.c.idempotency_key, sorted(principal_keys)),
            entries.c.principal == principal,
        )
        for e in load_entries_where(conn, clause):
            found[(principal, e.idempotency_key or "")] = e
    return found


def entries_by_ids(conn: Connection, ids: Collection[str]) -> dict[str, Entry]:
    if not ids:
        return {}
    return {e.id: e for e in load_entries_where(conn, member_of(conn, entries.c.id, sorted(ids)))}


def _by_column(conn: Connection, column: Any, ids: Collection[str]) -> dict[str, Entry]:
    if not ids:
        return {}
    found = load_entries_where(conn, member_of(conn, column, sorted(ids)))
    return {getattr(e, column.key): e for e in found}


def lock_accounts(conn: Connection, account_ids: Collection[str]) -> dict[str, AccountState]:
    """The balance rows of ``account_ids`` that exist, locked in id order (no deadlocks)."""
    if not account_ids:
        return {}
    stmt = (
        select(balances)
        .where(member_of(conn, balances.c.account_id, sorted(account_ids)))
        .order_by(balances.c.account_id)
        .with_for_update()
    )
    return {
        r.account_id: AccountState(
            r.account_id,
            r.asset,
            r.allow_negative,
            r.balance,
            r.pending_out,
            r.pending_in,
            r.last_seq,
        )
        for r in conn.execute(stmt)
    }


def limit_usage(conn: Connection, limits: Collection[Limit]) -> dict[Limit, int]:
    """What the posted journal already counts against each limit (under the head lock).

    Amounts are text on SQLite, so they are added up here: exact on both back ends.
    """
    ordered = sorted(limits, key=limit_order)
    usage = dict.fromkeys(ordered, 0)
    for start in range(0, len(ordered), LIMITS_PER_STATEMENT):
        chunk = ordered[start : start + LIMITS_PER_STATEMENT]
        count_usage(usage, chunk, conn.execute(_usage_statement(chunk)))
    return usage


def count_usage(
    usage: dict[Limit, int], limits: Sequence[Limit], rows: Iterable[Sequence[Any]]
) -> dict[Limit, int]:
    """Add ``(index into limits, line amount)`` rows to ``usage``: credits count against an
    IN limit, debits against an OUT one."""
    for index, raw_amount in rows:
        limit, amount = limits[index], int(raw_amount)
        if limit.direction is Direction.IN and amount > 0:
            usage[limit] += amount
        elif limit.direction is Direction.OUT and amount < 0:
            usage[limit] -= amount
    return usage


def _usage_statement(chunk: Sequence[Limit]) -> Any:
    selects = [
        select(literal(i).label("i"), entry_lines.c.amount).where(
            entry_lines.c.account_id == limit.account_id,
            entry_lines.c.kind == limit.kind,
            entry_lines.c.effective_at >= limit.since,
            entry_lines.c.effective_at < limit.until,
        )
        for i, limit in enumerate(chunk)
    ]
    return selects[0] if len(selects) == 1 else union_all(*selects)


def limit_order(limit: Limit) -> tuple[str, str, str, str, str, int]:
    return (
        limit.account_id,
        limit.kind,
        limit.direction.value,
        limit.since.isoformat(),
        limit.until.isoformat(),
        limit.max_amount,
    )
