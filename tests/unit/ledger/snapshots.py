"""Building snapshots in memory and folding decisions into them: the journal without I/O.

:func:`advance` is what the loader would read after a decision was written, kept naive on
purpose (it keeps every entry, not only those the next batch names: a superset of what the
loader's contract asks for).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

from ledger.model import GENESIS_HASH, Direction, Entry, Limit
from ledger.snapshot import AccountState, Decision, Snapshot

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def accounts(*specs: tuple[str, str, bool]) -> dict[str, AccountState]:
    """``(id, asset, allow_negative)`` -> empty balance rows."""
    return {a: AccountState(a, asset, neg, 0, 0, 0, 0) for a, asset, neg in specs}


def empty(states: dict[str, AccountState], limits: Iterable[Limit] = ()) -> Snapshot:
    return Snapshot(
        head_seq=0,
        head_hash=GENESIS_HASH,
        by_key={},
        by_id={},
        resolution_of={},
        reversal_of={},
        accounts=states,
        limit_usage=dict.fromkeys(limits, 0),
    )


def counter(prefix: str = "e") -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers)}"


def advance(snapshot: Snapshot, decision: Decision) -> Snapshot:
    """The snapshot a later batch would load once ``decision`` is committed."""
    by_key = dict(snapshot.by_key)
    by_id = dict(snapshot.by_id)
    resolution_of = dict(snapshot.resolution_of)
    reversal_of = dict(snapshot.reversal_of)
    for e in decision.entries:
        by_id[e.id] = e
        if e.idempotency_key is not None:
            by_key[(e.principal or "", e.idempotency_key)] = e
        if e.hold_id is not None:
            resolution_of[e.hold_id] = e
        if e.reverses_id is not None:
            reversal_of[e.reverses_id] = e
    states = dict(snapshot.accounts)
    for a in decision.accounts:
        states[a.account_id] = a
    usage = dict(snapshot.limit_usage)
    for limit in usage:
        usage[limit] += _usage(limit, decision)
    return replace(
        snapshot,
        head_seq=decision.head_seq,
        head_hash=decision.head_hash,
        by_key=by_key,
        by_id=by_id,
        resolution_of=resolution_of,
        reversal_of=reversal_of,
        accounts=states,
        limit_usage=usage,
    )


def _usage(limit: Limit, decision: Decision) -> int:
    total = 0
    for line in decision.lines:
        if line.account_id != limit.account_id or line.kind != limit.kind:
            continue
        if not limit.since <= line.effective_at < limit.until:
            continue
        if limit.direction is Direction.IN and line.amount > 0:
            total += line.amount
        elif limit.direction is Direction.OUT and line.amount < 0:
            total -= line.amount
    return total


def chain_ok(prev_hash: bytes, first_seq: int, entries: Iterable[Entry]) -> bool:
    seq, prev = first_seq, prev_hash
    for e in entries:
        if e.seq != seq or e.hash != e.chained_hash(prev):
            return False
        seq, prev = seq + 1, e.hash
    return True
