"""Azora's append-only, double-entry, event-sourced ledger.

The public API: :class:`Ledger` and the value types it takes and returns, the checks a
domain repeats at its own edge (amounts, idempotency keys, kind patterns), and the column
types and write-transaction option for a domain's own tables. Domains use these names only,
never the ledger's tables. Nothing here imports FastAPI or web3.
"""

from ledger.checks import kind_matches
from ledger.commands import HoldAction
from ledger.errors import (
    AccountExists,
    AssetMismatch,
    Conflict,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAccount,
    InvalidAmount,
    InvalidEntry,
    InvalidId,
    InvalidRequest,
    InvalidText,
    InvalidTime,
    LedgerError,
    LimitExceeded,
    NotFound,
    NotReversible,
    Unavailable,
    UnknownAccount,
    UnknownAsset,
    Unstorable,
)
from ledger.model import (
    Account,
    Balance,
    Direction,
    Entry,
    EntryType,
    HistoryLine,
    HoldState,
    HoldStatus,
    Limit,
    NewEntry,
    Posted,
    Posting,
    validate_idempotency_key,
)
from ledger.money import AZR, USD, Asset, asset, check_units, format_amount, parse_amount
from ledger.service import Ledger
from ledger.store.engine import WRITE_TXN
from ledger.store.types import Amount, UTCDateTime

__all__ = [
    "AZR",
    "USD",
    "WRITE_TXN",
    "Account",
    "AccountExists",
    "Amount",
    "Asset",
    "AssetMismatch",
    "Balance",
    "Conflict",
    "Direction",
    "Entry",
    "EntryType",
    "HistoryLine",
    "HoldAction",
    "HoldNotPending",
    "HoldState",
    "HoldStatus",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidAccount",
    "InvalidAmount",
    "InvalidEntry",
    "InvalidId",
    "InvalidRequest",
    "InvalidText",
    "InvalidTime",
    "Ledger",
    "LedgerError",
    "Limit",
    "LimitExceeded",
    "NewEntry",
    "NotFound",
    "NotReversible",
    "Posted",
    "Posting",
    "UTCDateTime",
    "Unavailable",
    "UnknownAccount",
    "UnknownAsset",
    "Unstorable",
    "asset",
    "check_units",
    "format_amount",
    "kind_matches",
    "parse_amount",
    "validate_idempotency_key",
]
