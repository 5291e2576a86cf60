"""The writer's writes: a :class:`~ledger.deciding.Decision`'s rows, in bulk."""

from __future__ import annotations

from sqlalchemy import Connection, update

from ledger.snapshot import Decision
from ledger.store.bulk import insert_rows, update_balances
from ledger.store.rows import entry_row, line_row
from ledger.store.tables import entries, entry_lines, journal_head


def write_decision(conn: Connection, decision: Decision) -> None:
    """Insert the new entries and lines; rewrite the touched balances and the head.

    Precondition: ``conn`` holds the head lock and the balance rows' locks taken by
    :func:`ledger.store.loading.load_snapshot` for this decision.
    """
    if not decision.entries:
        return
    rows = [entry_row(e, t) for e, t in zip(decision.entries, decision.texts, strict=True)]
    insert_rows(conn, entries, rows)
    insert_rows(conn, entry_lines, [line_row(line) for line in decision.lines])
    update_balances(
        conn,
        [
            (a.account_id, a.balance, a.pending_out, a.pending_in, a.last_seq)
            for a in decision.accounts
        ],
    )
    conn.execute(
        update(journal_head)
        .where(journal_head.c.id == 1)
        .values(seq=decision.head_seq, hash=decision.head_hash)
    )
