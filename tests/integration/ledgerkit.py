"""Helpers to write ledger tests in the ledger's own terms."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from ledger import Account, Ledger, NewEntry, Posted, Posting
from ledger.store.tables import entries, entry_lines


def open_accounts(book: Ledger, *ids: str, asset: str = "USD", world: str | None = None) -> None:
    """Create ``ids`` (no overdraft) and, if given, ``world`` (may go negative)."""
    if world is not None:
        book.create_account(Account(world, asset, allow_negative=True))
    for account_id in ids:
        book.create_account(Account(account_id, asset))


def move(
    book: Ledger,
    source: str,
    destination: str,
    amount: int,
    *,
    asset: str = "USD",
    kind: str = "transfer",
    key: str | None = None,
    pending: bool = False,
    **extra: Any,
) -> Posted:
    request = NewEntry(
        kind, (Posting(source, destination, asset, amount),), pending=pending, **extra
    )
    return book.post_entry(request, idempotency_key=key)


def journal_size(engine: Engine) -> tuple[int, int]:
    """(entries, history lines): what a refused request must leave unchanged."""
    with engine.connect() as conn:
        n_entries = conn.execute(select(func.count()).select_from(entries)).scalar_one()
        n_lines = conn.execute(select(func.count()).select_from(entry_lines)).scalar_one()
    return int(n_entries), int(n_lines)
