"""Opening the rewards' ledger accounts: platform accounts once, a user's on first use."""

from __future__ import annotations

import logging
import threading

from ledger import AZR, Account, AccountExists, Ledger
from monetization.rewards.model import PLATFORM_ACCOUNTS, user_account

log = logging.getLogger(__name__)
KNOWN_ACCOUNTS_MAX = 100_000  # a bound on the in-process cache, not on users


class AccountOpener:
    """Creates accounts idempotently and remembers which exist (a cache, never a truth)."""

    def __init__(self, book: Ledger) -> None:
        self.book = book
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def _open(self, account_id: str, allow_negative: bool) -> str:
        if account_id in self._known:
            return account_id
        try:
            self.book.create_account(Account(account_id, AZR.code, allow_negative=allow_negative))
        except AccountExists:
            self._accept_existing(account_id)
        with self._lock:
            if len(self._known) >= KNOWN_ACCOUNTS_MAX:
                self._known.clear()
            self._known.add(account_id)
        return account_id

    def _accept_existing(self, account_id: str) -> None:
        """An account opened earlier with other metadata (or, before the API refused it,
        with ``allow_negative``) is still the user's: use it rather than wedge them."""
        existing = self.book.get_account(account_id)
        if existing.asset != AZR.code:
            raise AccountExists(
                f"account {account_id!r} exists with asset {existing.asset}, not {AZR.code}"
            )
        if existing.allow_negative:
            log.warning("account %s was opened with allow_negative; using it as is", account_id)

    def platform(self) -> None:
        for account_id, allow_negative in PLATFORM_ACCOUNTS:
            self._open(account_id, allow_negative)

    def user(self, user_id: str) -> str:
        return self._open(user_account(user_id), False)
