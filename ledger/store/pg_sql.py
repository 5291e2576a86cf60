"""PostgreSQL: the journal writer's write statements and their parameters.

Inserts go through ``unnest`` of binary arrays (one statement per table, the same text for
any batch size); every write of a batch is one statement of data-modifying ``WITH``s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ledger.snapshot import Decision

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
    "%b::numeric[], %b::numeric[], %b::timestamptz[])"
)
UPDATE_BALANCES = (
    "UPDATE balances AS b SET balance = n.balance, pending_out = n.pending_out, "
    "pending_in = n.pending_in, last_seq = n.last_seq "
    "FROM unnest(%b::text[], %b::numeric[], %b::numeric[], %b::numeric[], %b::bigint[]) "
    "AS n(account_id, balance, pending_out, pending_in, last_seq) "
    "WHERE b.account_id = n.account_id"
)
UPDATE_HEAD = "UPDATE journal_head SET seq = %s, hash = %s WHERE id = 1"
# All of a batch's journal rows in one statement (each data-modifying WITH runs once, to
# completion): one parse, plan and execution start instead of four, client and server.
WRITE_JOURNAL = (
    f"WITH e AS ({INSERT_ENTRIES}), l AS ({INSERT_LINES}), b AS ({UPDATE_BALANCES}) {UPDATE_HEAD}"
)


def journal_columns(decision: Decision) -> list[list[Any]]:
    """The arrays of :data:`INSERT_ENTRIES`, :data:`INSERT_LINES` and
    :data:`UPDATE_BALANCES` for ``decision``, in that order (27 of them): the values of
    :func:`ledger.store.rows.entry_row`, one list per column."""
    es = decision.entries
    return [
        [e.seq for e in es],
        [e.id for e in es],
        [e.type.value for e in es],
        [e.kind for e in es],
        [t[0].decode() for t in decision.texts],
        [t[1].decode() for t in decision.texts],
        [e.effective_at for e in es],
        [e.recorded_at for e in es],
        [e.expires_at for e in es],
        [e.hold_id for e in es],
        [e.reverses_id for e in es],
        [e.principal for e in es],
        [e.idempotency_key for e in es],
        [e.fingerprint for e in es],
        [e.hash for e in es],
        *columns(
            [
                (
                    ln.account_id,
                    ln.seq,
                    ln.entry_id,
                    ln.kind,
                    ln.amount,
                    ln.balance_after,
                    ln.effective_at,
                )
                for ln in decision.lines
            ],
            7,
        ),
        *columns(
            [
                (a.account_id, a.balance, a.pending_out, a.pending_in, a.last_seq)
                for a in decision.accounts
            ],
            5,
        ),
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
