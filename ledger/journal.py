"""Applying a batch of commands to the journal in one database transaction.

This is the only code that writes entries, in three steps:

1. **load** (:func:`ledger.store.loading.load_snapshot`): lock the journal head, read the
   entries the commands name, lock the balance rows of every account involved in one
   ordered statement, read the usage of every limit;
2. **decide** (:func:`ledger.deciding.decide`, pure): one outcome per command and the rows
   to write; a refused command leaves no trace, the others go on;
3. **write** (:func:`ledger.store.writing.write_decision`): insert all new entries and
   history lines in bulk, rewrite the touched balances and the head, run the batch hooks
   (the token log); the caller commits once.

One command per batch is the naive path; many per batch is group commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from ledger.commands import Command, Outcome
from ledger.deciding import balance_deltas, decide, needs_of
from ledger.model import Entry
from ledger.store.loading import load_entries_where, load_snapshot
from ledger.store.rows import entry_from_row
from ledger.store.writing import write_decision

BatchHook = Callable[[Connection, Sequence[Entry]], None]

# Older import paths of these helpers.
__all__ = ["BatchHook", "apply_batch", "balance_deltas", "entry_from_row", "load_entries_where"]


def new_entry_id() -> str:
    return str(uuid.uuid4())


def apply_batch(
    conn: Connection,
    commands: Sequence[Command],
    now: datetime,
    hooks: Sequence[BatchHook] = (),
    new_id: Callable[[], str] = new_entry_id,
) -> list[Outcome]:
    """Load, decide and write ``commands`` inside the caller's open transaction.

    Precondition: ``conn`` is in a write transaction that the caller commits after this
    returns. Returns one outcome per command, in order; errors are values, not raised.
    """
    snapshot = load_snapshot(conn, needs_of(commands))
    decision = decide(snapshot, commands, now, new_id)
    if decision.entries:
        write_decision(conn, decision)
        for hook in hooks:
            hook(conn, decision.entries)
    return list(decision.outcomes)
