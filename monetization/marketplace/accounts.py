"""The ledger accounts of the marketplace (USD), opened by the domain on first use.

==================================  ===========================================================
``instructor:{id}:pending``         shares of sales still inside the refund window
``instructor:{id}:available``       released shares; payouts are holds from here
``instructor:{id}:receivable``      may go negative: what the instructor owes after a refund
                                    of a share already released (see refunds.py); repaid
                                    from ``available`` before any payout
``platform:revenue:marketplace``    the platform's shares
``world:card``                      money from card networks (may go negative)
``world:payouts``                   money paid out to instructors (may go negative)
==================================  ===========================================================
"""

from __future__ import annotations

import threading

from ledger import USD, Account, Ledger

REVENUE = "platform:revenue:marketplace"
WORLD_CARD = "world:card"
WORLD_PAYOUTS = "world:payouts"
LEDGER_PRINCIPAL = "marketplace"  # the principal of the domain's own entries

KIND_SALE = "marketplace.sale"
KIND_REFUND = "marketplace.refund"
KIND_RELEASE = "marketplace.release"
KIND_CLAWBACK = "marketplace.clawback"
KIND_SETTLE = "marketplace.settle"
KIND_PAYOUT = "marketplace.payout"


def pending(user_id: str) -> str:
    return f"instructor:{user_id}:pending"


def available(user_id: str) -> str:
    return f"instructor:{user_id}:available"


def receivable(user_id: str) -> str:
    return f"instructor:{user_id}:receivable"


class AccountOpener:
    """Opens each account once per process (creating an existing one is a no-op)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._opened: set[str] = set()
        self._lock = threading.Lock()

    def open(self, *accounts: str) -> None:
        for account_id in accounts:
            if account_id in self._opened:
                continue
            negative = account_id.startswith("world:") or account_id.endswith(":receivable")
            self.ledger.create_account(Account(account_id, USD.code, allow_negative=negative))
            with self._lock:
                self._opened.add(account_id)

    def instructor(self, user_id: str) -> None:
        self.open(pending(user_id), available(user_id), receivable(user_id))
