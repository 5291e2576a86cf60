"""Applying a batch of commands to the journal in one database transaction.

This is the only code that writes entries, in three steps:

1. **load** (:func:`ledger.store.loading.load_snapshot`): lock the journal head, read the
   entries the commands name, lock the balance rows of every account involved in one
   ordered statement, read the usage of every limit;
2. **decide** (:func:`ledger.deciding.decide`, pure): one outcome per command and the rows
   to write; a refused command leaves no trace, the others go on;
3. **write** (:func:`ledger.store.writing.write_decision`): insert all new entries and
   history lines in bulk, rewrite the touched balances and the head, append the token log,
   run the batch hooks; the caller commits once (:func:`commit_batch` does).

One command per batch is the naive path; many per batch is group commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from ledger.commands import Command, Outcome
from ledger.deciding import balance_deltas, decide
from ledger.model import Entry
from ledger.randomness import random_bytes
from ledger.snapshot import HeadCache, needs_of
from ledger.store.engine import WRITE_TXN
from ledger.store.loading import load_entries_where, load_snapshot
from ledger.store.rows import entry_from_row
from ledger.store.writing import write_decision
from ledger.tokenlog import append_hook

BatchHook = Callable[[Connection, Sequence[Entry]], None]

# Older import paths of these helpers.
__all__ = [
    "BatchHook",
    "apply_batch",
    "balance_deltas",
    "commit_batch",
    "entry_from_row",
    "load_entries_where",
]


def new_entry_id() -> str:
    """A random UUID (version 4) as text: ``str(uuid.uuid4())`` in half the time."""
    b = bytearray(random_bytes(16))
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # the RFC 9562 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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
        append_hook(conn, decision.entries)  # the token log is part of the journal
        for hook in hooks:
            hook(conn, decision.entries)
    return list(decision.outcomes)


def commit_batch(
    conn: Connection,
    commands: Sequence[Command],
    now: datetime,
    hooks: Sequence[BatchHook] = (),
    *,
    new_id: Callable[[], str] = new_entry_id,
    top_up: Callable[[], Sequence[Command]] | None = None,
    locked: Callable[[], None] | None = None,
    cache: HeadCache | None = None,
    try_cached: bool = True,
) -> list[Outcome]:
    """:func:`apply_batch` in a write transaction of its own on ``conn``, committed.

    ``locked`` is called once the transaction holds the journal head (for the writers'
    head-lock wait metric).

    ``top_up``, called once the journal head is locked, returns commands that join the
    batch after ``commands`` (what queued while the writer waited for the lock); the
    outcomes cover both. On PostgreSQL the batch takes two round trips
    (:mod:`ledger.store.pg_batch`): its reads with the head lock, its writes with the
    commit; one when ``cache`` (what this connection's writer committed last, kept by the
    caller) covers the batch (:mod:`ledger.store.pg_fast`), unless ``try_cached`` is false
    (the batch was just tried that way). Precondition: ``conn`` has no transaction open.
    """
    if conn.dialect.name == "postgresql":
        from ledger.store import pg_batch  # the driver's own API: only on PostgreSQL

        return pg_batch.commit_batch(
            conn,
            commands,
            now,
            hooks,
            new_id=new_id,
            top_up=top_up,
            locked=locked,
            cache=cache,
            try_cached=try_cached,
        )
    # SQLite: BEGIN IMMEDIATE is the head lock.
    with conn.execution_options(**WRITE_TXN).begin():
        if locked is not None:
            locked()
        commands = [*commands, *(top_up() if top_up is not None else ())]
        return apply_batch(conn, commands, now, hooks, new_id)
