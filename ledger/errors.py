"""Every expected failure of the ledger is a :class:`LedgerError`.

Each class carries a stable ``code`` (the last segment of the HTTP problem ``type``); the
API maps codes to statuses in one place. Database errors are translated at the storage
boundary (``raise X(...) from e``) and never leak as driver exceptions.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Root of the ledger's expected failures."""

    code = "ledger-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(LedgerError):
    """The request is malformed: nothing was written."""

    code = "invalid-request"


class InvalidAmount(InvalidRequest):
    code = "invalid-amount"


class UnknownAsset(InvalidRequest):
    code = "unknown-asset"


class InvalidAccount(InvalidRequest):
    code = "invalid-account"


class InvalidEntry(InvalidRequest):
    code = "invalid-entry"


class InvalidId(InvalidRequest):
    """An id that does not match its pattern: it cannot name anything."""

    code = "invalid-id"


class InvalidText(InvalidRequest):
    """Text no database stores as given: a NUL character or a lone surrogate."""

    code = "invalid-text"


class InvalidTime(InvalidRequest):
    """An instant without a timezone, or outside the calendar once in UTC."""

    code = "invalid-time"


class Unstorable(InvalidRequest):
    """The database refused a value of this command (its batch went on without it)."""

    code = "unstorable"


class UnknownAccount(InvalidRequest):
    code = "unknown-account"


class AssetMismatch(InvalidRequest):
    code = "asset-mismatch"


class Conflict(LedgerError):
    """The request is valid but conflicts with the ledger's state: nothing was written."""

    code = "conflict"


class InsufficientFunds(Conflict):
    code = "insufficient-funds"

    def __init__(self, detail: str, *, account_id: str = "") -> None:
        super().__init__(detail)
        self.account_id = account_id


class LimitExceeded(Conflict):
    """A :class:`ledger.model.Limit` would be passed (a daily cap, a gift limit)."""

    code = "limit-exceeded"

    def __init__(self, detail: str, *, account_id: str = "", kind: str = "") -> None:
        super().__init__(detail)
        self.account_id = account_id
        self.kind = kind


class IdempotencyConflict(Conflict):
    code = "idempotency-conflict"


class AccountExists(Conflict):
    code = "account-exists"


class HoldNotPending(Conflict):
    """The hold was already resolved the other way (posted vs voided/expired)."""

    code = "hold-not-pending"


class NotReversible(Conflict):
    code = "not-reversible"


class NotFound(LedgerError):
    code = "not-found"


class Unavailable(LedgerError):
    """The store could not be reached or kept failing; nothing was written.

    Its detail never carries a driver's message (that goes to the log).
    """

    code = "unavailable"
