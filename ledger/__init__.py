"""Azora's append-only, double-entry, event-sourced ledger.

The public API: :class:`Ledger` and the value types it takes and returns. Nothing here
imports FastAPI or web3.
"""

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
    InvalidRequest,
    LedgerError,
    LimitExceeded,
    NotFound,
    NotReversible,
    Unavailable,
    UnknownAccount,
    UnknownAsset,
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
)
from ledger.money import AZR, USD, Asset, asset, format_amount, parse_amount
from ledger.service import Ledger

__all__ = [
    "AZR",
    "USD",
    "Account",
    "AccountExists",
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
    "InvalidRequest",
    "Ledger",
    "LedgerError",
    "Limit",
    "LimitExceeded",
    "NewEntry",
    "NotFound",
    "NotReversible",
    "Posted",
    "Posting",
    "Unavailable",
    "UnknownAccount",
    "UnknownAsset",
    "asset",
    "format_amount",
    "parse_amount",
]
