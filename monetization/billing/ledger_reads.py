"""Sums over an account's history in a time window, through the ledger's public API.

``Ledger.history`` pages newest first by ``seq``; an entry's ``effective_at`` need not
follow ``seq`` (a billing run with ``--now`` in the past), so the whole history is read.
Bounded per page; a later ``Ledger.events(after_seq, limit, kinds)`` can replace it.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from ledger import Ledger, NotFound

PAGE = 500
PAGES_MAX = 100_000  # 50 million lines


def window_sum(
    book: Ledger,
    account_id: str,
    since: datetime,
    until: datetime,
    kinds: Container[str] | None = None,
) -> int:
    """Signed sum of the account's lines effective in ``[since, until)`` (of ``kinds``)."""
    total = 0
    before: int | None = None
    for _ in range(PAGES_MAX):
        try:
            lines = book.history(account_id, before_seq=before, limit=PAGE)
        except NotFound:
            return 0
        for line in lines:
            if since <= line.effective_at < until and (kinds is None or line.kind in kinds):
                total += line.amount
        if len(lines) < PAGE:
            return total
        before = lines[-1].seq
    raise AssertionError(f"history of {account_id} longer than {PAGE * PAGES_MAX} lines")
