"""Typed results: frozen dataclasses decoded from the API's JSON by :func:`decode`.

Amounts stay what the API sends, exact decimal strings in whole units (``"10.50"``): turn
them into ``decimal.Decimal`` if you compute with them, never into floats. Instants are
timezone-aware ``datetime`` values. A field the server adds later is ignored, not an error.
"""

from __future__ import annotations

import types
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from azora_client.errors import AzoraError

T = TypeVar("T")


def new_idempotency_key() -> str:
    """A fresh key for one logical request (its retries reuse it)."""
    return str(uuid.uuid4())


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if origin is tuple:
        (item, *_rest) = get_args(hint)
        return tuple(_convert(item, v) for v in value)
    if isinstance(hint, type) and is_dataclass(hint):
        return decode(hint, value)
    if origin is Mapping or hint is Mapping:
        return dict(value)
    return value


def decode(cls: type[T], data: Mapping[str, Any]) -> T:
    """``cls`` (a dataclass of this module) from one JSON object of the API."""
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            values[f.name] = _convert(hints[f.name], data[f.name])
        elif f.default is MISSING and f.default_factory is MISSING:
            values[f.name] = None
    return cls(**values)


# --- the ledger ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Posting:
    """Moves ``amount`` (a decimal string in whole units, e.g. ``"9.99"``) of ``asset``."""

    source: str
    destination: str
    asset: str
    amount: str

    def as_json(self) -> dict[str, str]:
        return {
            "source": self.source,
            "destination": self.destination,
            "asset": self.asset,
            "amount": self.amount,
        }


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    asset: str
    allow_negative: bool
    balance: str
    pending_out: str
    pending_in: str
    available: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        return decode(cls, data)


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    seq: int
    type: str
    status: str
    kind: str
    postings: tuple[Posting, ...]
    metadata: Mapping[str, Any]
    effective_at: datetime
    recorded_at: datetime | None = None
    expires_at: datetime | None = None
    idempotency_key: str | None = None
    hold_id: str | None = None
    reverses_id: str | None = None
    replayed: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, replayed: bool = False) -> Entry:
        return decode(cls, {**data, "replayed": replayed})


@dataclass(frozen=True, slots=True)
class HistoryLine:
    entry_id: str
    seq: int
    kind: str
    amount: str  # signed
    balance_after: str
    effective_at: datetime
    metadata: Mapping[str, Any] | None = None  # reward history lines carry their metadata


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` (None: the last page)."""

    data: tuple[T, ...]
    next_cursor: str | None


HistoryPage = Page[HistoryLine]


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    status: str
    hold: Entry
    resolution: Entry | None


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One entry of a batch; ``idempotency_key`` defaults to a fresh UUID."""

    kind: str
    postings: Sequence[Posting]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    pending: bool = False
    expires_at: datetime | None = None
    idempotency_key: str = field(default_factory=new_idempotency_key)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind,
            "postings": [p.as_json() for p in self.postings],
            "metadata": dict(self.metadata),
            "pending": self.pending,
        }
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at.isoformat()
        return body


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One entry's outcome: ``entry`` on success, else ``error``."""

    index: int
    idempotency_key: str
    status: int
    entry: Entry | None
    error: AzoraError | None


# --- rewards ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Earning:
    entry_id: str
    seq: int
    user_id: str
    type: str
    kind: str
    amount: str
    effective_at: datetime
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    event_type: str
    amount: str
    daily_cap: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class CatalogItem:
    id: str
    name: str
    type: str  # feature_unlock, course_content, merchandise, onchain_withdrawal
    price: str
    stock: int | None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Movement:
    """A spend, a gift or an adjustment of AZR."""

    entry_id: str
    seq: int
    kind: str
    amount: str
    reverses_id: str | None = None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Entitlement:
    redemption_id: str
    item_id: str
    type: str
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Wallet:
    user_id: str
    balance: str
    available: str
    entitlements: tuple[Entitlement, ...]


@dataclass(frozen=True, slots=True)
class Redemption:
    id: str
    user_id: str
    item_id: str
    item_type: str
    price: str
    status: str
    hold_entry_id: str | None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    shipping_address: Mapping[str, Any] | None = None
    eth_address: str | None = None
    tx_hash: str | None = None
    reason: str | None = None
    fulfilment: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    user_id: str
    score: str


@dataclass(frozen=True, slots=True)
class Board:
    scope: str
    window: str
    window_start: date
    entries: tuple[Ranked, ...]
    me: Ranked | None = None


@dataclass(frozen=True, slots=True)
class Friendship:
    user_id: str
    friend_id: str
    mutual: bool


# --- proofs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Anchor:
    index: int | None
    chain_id: int
    contract: str
    tx_hash: str | None
    block_number: int | None
    tree_size: int
    root: str
    status: str


@dataclass(frozen=True, slots=True)
class ProofAnchor:
    index: int
    chain_id: int
    contract: str
    tx_hash: str | None
    block_number: int | None
    status: str


@dataclass(frozen=True, slots=True)
class EntryProof:
    """An inclusion proof; ``raw`` is the JSON as served (what ``azora audit entry`` reads)."""

    entry_id: str
    leaf_index: int
    leaf: str
    leaf_hash: str
    tree_size: int
    root: str
    inclusion_proof: tuple[str, ...]
    anchor: ProofAnchor
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A self-contained receipt; save ``raw`` as JSON for ``azora audit receipt``."""

    version: int
    entry_id: str
    leaf_index: int
    tree_size: int
    root: str
    anchor: ProofAnchor
    checkpoint: str
    checkpoint_key: str
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    from_size: int
    to_size: int
    from_root: str
    to_root: str
    proof: tuple[str, ...]
