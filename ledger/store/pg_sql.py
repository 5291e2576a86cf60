"""PostgreSQL: the journal writer's write statements and their parameters.

Inserts go through ``unnest`` of binary arrays (one statement per table, the same text for
any batch size; the arrays built by :mod:`ledger.store.pg_arrays`); every write of a batch
is one statement of data-modifying ``WITH``s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ledger.snapshot import Decision
from ledger.store.pg_arrays import (
    bytea_array,
    int8_array,
    numeric_text_array,
    text_array,
    timestamptz_array,
)

ENTRY_COLUMNS = (
    "seq, id, type, kind, postings, metadata, effective_at, recorded_at, expires_at, "
    "hold_id, reverses_id, principal, idempotency_key, fingerprint, hash"
)
INSERT_ENTRIES = (
    f"INSERT INTO entries ({ENTRY_COLUMNS}) SELECT * FROM unnest("  # noqa: S608
    "%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], "
    "%b::timestamptz[], %b::timestamptz[], %b::timestamptz[], %b::text[], %b::text[], "
    "%b::text[], %b::text[], %b::text[], %b::bytea[])"
)
INSERT_LINES = (
    "INSERT INTO entry_lines (account_id, seq, entry_id, kind, amount, balance_after, "
    "effective_at) SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[], "
    "%b::text[]::numeric[], %b::text[]::numeric[], %b::timestamptz[])"
)
UPDATE_BALANCES = (
    "UPDATE balances AS b SET balance = n.balance, pending_out = n.pending_out, "
    "pending_in = n.pending_in, last_seq = n.last_seq "
    "FROM unnest(%b::text[], %b::text[]::numeric[], %b::text[]::numeric[], "
    "%b::text[]::numeric[], %b::bigint[]) "
    "AS n(account_id, balance, pending_out, pending_in, last_seq) "
    "WHERE b.account_id = n.account_id"
)
UPDATE_HEAD = "UPDATE journal_head SET seq = %s, hash = %s WHERE id = 1"
# All of a batch's journal rows in one statement (each data-modifying WITH runs once, to
# completion): one parse, plan and execution start instead of four, client and server.
WRITE_JOURNAL = (
    f"WITH e AS ({INSERT_ENTRIES}), l AS ({INSERT_LINES}), b AS ({UPDATE_BALANCES}) {UPDATE_HEAD}"
)


def journal_columns(decision: Decision) -> list[bytes]:
    """The arrays of :data:`INSERT_ENTRIES`, :data:`INSERT_LINES` and
    :data:`UPDATE_BALANCES` for ``decision``, in that order (27 of them), encoded
    (:mod:`ledger.store.pg_arrays`): the values of :func:`ledger.store.rows.entry_row`, one
    array per column."""
    es, lines, accounts = decision.entries, decision.lines, decision.accounts
    return [
        int8_array([e.seq for e in es]),
        text_array([e.id for e in es]),
        text_array([e.type.value for e in es]),
        text_array([e.kind for e in es]),
        text_array([t[0].decode() for t in decision.texts]),
        text_array([t[1].decode() for t in decision.texts]),
        timestamptz_array([e.effective_at for e in es]),
        timestamptz_array([e.recorded_at for e in es]),
        timestamptz_array([e.expires_at for e in es]),
        text_array([e.hold_id for e in es]),
        text_array([e.reverses_id for e in es]),
        text_array([e.principal for e in es]),
        text_array([e.idempotency_key for e in es]),
        text_array([e.fingerprint for e in es]),
        bytea_array([e.hash for e in es]),
        text_array([ln.account_id for ln in lines]),
        int8_array([ln.seq for ln in lines]),
        text_array([ln.entry_id for ln in lines]),
        text_array([ln.kind for ln in lines]),
        numeric_text_array([ln.amount for ln in lines]),
        numeric_text_array([ln.balance_after for ln in lines]),
        timestamptz_array([ln.effective_at for ln in lines]),
        text_array([a.account_id for a in accounts]),
        numeric_text_array([a.balance for a in accounts]),
        numeric_text_array([a.pending_out for a in accounts]),
        numeric_text_array([a.pending_in for a in accounts]),
        int8_array([a.last_seq for a in accounts]),
    ]


def columns(rows: Iterable[Sequence[Any] | dict[str, Any]], width: int) -> list[list[Any]]:
    """Row values as one list per column (the arrays ``unnest`` takes)."""
    values = [list(row.values()) if isinstance(row, dict) else row for row in rows]
    out = [list(column) for column in zip(*values, strict=True)]
    if not out:
        return [[] for _ in range(width)]
    if len(out) != width:
        raise ValueError(f"rows of {len(out)} values, expected {width}")
    return out
