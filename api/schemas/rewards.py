"""Rewards, leaderboards, redemptions, classes and friends: request and response shapes.

Amounts are AZR decimal strings in whole units (scale 18), as everywhere in the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from api.schemas.common import AmountIn, AmountOut, Input, Metadata
from ledger import AZR, format_amount, parse_amount
from monetization.rewards import (
    Board,
    CatalogItem,
    EarningRule,
    Entitlement,
    HistoryItem,
    ItemType,
    Ranked,
    Redemption,
)
from monetization.rewards.earning import Earning

UserId = Annotated[
    StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", max_length=64, examples=["42"])
]
EventType = Annotated[
    StrictStr,
    Field(
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=48, examples=["lesson.completed"]
    ),
]
EventId = Annotated[
    StrictStr,
    Field(
        pattern=r"^[A-Za-z0-9_.:\-]{1,128}$",
        description="The platform's event id: the idempotency key of the earning.",
        examples=["lesson-9f2c-user-42"],
    ),
]
ItemId = Annotated[
    StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", examples=["pro-7-days"])
]


def azr(units: int) -> str:
    return format_amount(units, AZR)


# Amounts the rewards domain records in an entry's metadata, in base units (an earning's
# rule): the API shows them in whole AZR like every other amount.
METADATA_AMOUNTS = {"rule": ("amount", "daily_cap")}


def public_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """An entry's metadata with its recorded amounts as AZR decimal strings."""
    shown = dict(metadata)
    for key, fields in METADATA_AMOUNTS.items():
        nested = shown.get(key)
        if isinstance(nested, Mapping):
            shown[key] = {k: _azr_text(v) if k in fields else v for k, v in nested.items()}
    return shown


def _azr_text(value: object) -> object:
    """Base units (``"5000000000000000000"``) -> ``"5.000000000000000000"``; anything else
    (None, a value already in whole units) as it is."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return azr(int(value))
    return value


# --- earning ------------------------------------------------------------------------------


class EventCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "lesson-9f2c-user-42",
                    "user_id": "42",
                    "type": "lesson.completed",
                    "metadata": {"course_id": "py-101", "lesson": 3},
                }
            ]
        }
    )

    event_id: EventId
    user_id: UserId
    type: EventType
    metadata: Metadata = Field(default_factory=dict)


class EarningPublic(BaseModel):
    entry_id: str
    seq: int
    user_id: str
    type: str
    kind: str
    amount: AmountOut
    effective_at: datetime
    replayed: bool

    @classmethod
    def build(cls, e: Earning) -> EarningPublic:
        return cls(
            entry_id=e.entry.id,
            seq=e.entry.seq,
            user_id=e.user_id,
            type=e.event_type,
            kind=e.entry.kind,
            amount=azr(e.amount),
            effective_at=e.entry.effective_at,
            replayed=e.replayed,
        )


class RulePut(Input):
    amount: AmountIn
    daily_cap: AmountIn | None = Field(default=None, description="Per user per UTC day; null: none")
    active: StrictBool = True

    def to_rule(self, event_type: str) -> EarningRule:
        cap = None if self.daily_cap is None else _cap(self.daily_cap)
        return EarningRule(event_type, parse_amount(self.amount, AZR), cap, self.active)


def _cap(text: str) -> int:
    return 0 if text.strip("0.") == "" else parse_amount(text, AZR)


class RulePublic(BaseModel):
    event_type: str
    amount: AmountOut
    daily_cap: AmountOut | None
    active: bool

    @classmethod
    def build(cls, r: EarningRule) -> RulePublic:
        cap = None if r.daily_cap is None else azr(r.daily_cap)
        return cls(event_type=r.event_type, amount=azr(r.amount), daily_cap=cap, active=r.active)


class RuleList(BaseModel):
    data: list[RulePublic]


class SpendCreate(Input):
    user_id: UserId
    amount: AmountIn
    metadata: Metadata = Field(default_factory=dict)


class GiftCreate(Input):
    to_user_id: UserId
    amount: AmountIn
    message: Annotated[StrictStr, Field(max_length=280)] | None = None


class AdjustmentCreate(Input):
    entry_id: Annotated[StrictStr, Field(max_length=64)]
    reason: Annotated[StrictStr, Field(min_length=1, max_length=500)]


class MovementPublic(BaseModel):
    """A spend, gift or adjustment: the entry it recorded."""

    entry_id: str
    seq: int
    kind: str
    amount: AmountOut
    reverses_id: str | None = None
    replayed: bool = False


class RewardHistoryItem(BaseModel):
    entry_id: str
    seq: int
    kind: str
    amount: AmountOut
    balance_after: AmountOut
    effective_at: datetime
    metadata: dict[str, Any]

    @classmethod
    def build(cls, h: HistoryItem) -> RewardHistoryItem:
        return cls(
            entry_id=h.entry_id,
            seq=h.seq,
            kind=h.kind,
            amount=azr(h.amount),
            balance_after=azr(h.balance_after),
            effective_at=h.effective_at,
            metadata=public_metadata(h.metadata),
        )


class RewardHistoryPage(BaseModel):
    data: list[RewardHistoryItem]
    next_cursor: str | None


class EntitlementPublic(BaseModel):
    redemption_id: str
    item_id: str
    type: ItemType
    until: datetime | None

    @classmethod
    def build(cls, e: Entitlement) -> EntitlementPublic:
        return cls(redemption_id=e.redemption_id, item_id=e.item_id, type=e.type, until=e.until)


class WalletPublic(BaseModel):
    user_id: str
    balance: AmountOut
    available: AmountOut
    entitlements: list[EntitlementPublic]


# --- catalog and redemptions ---------------------------------------------------------------


class ItemCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "pro-7-days",
                    "name": "Pro, 7 days",
                    "type": "feature_unlock",
                    "price": "50",
                    "metadata": {"days": 7},
                },
                {
                    "id": "tee",
                    "name": "T-shirt",
                    "type": "merchandise",
                    "price": "200",
                    "stock": 100,
                },
            ]
        }
    )

    id: ItemId
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    type: ItemType
    price: AmountIn
    stock: Annotated[int, Field(ge=0, le=10**9, strict=True)] | None = None
    metadata: Metadata = Field(
        default_factory=dict, description="feature_unlock: `days` of access (else forever)."
    )

    def to_item(self) -> CatalogItem:
        return CatalogItem(
            self.id,
            self.name,
            self.type,
            parse_amount(self.price, AZR),
            self.stock,
            True,
            dict(self.metadata),
        )


class ItemPublic(BaseModel):
    id: str
    name: str
    type: ItemType
    price: AmountOut
    stock: int | None
    metadata: dict[str, Any]

    @classmethod
    def build(cls, i: CatalogItem) -> ItemPublic:
        return cls(
            id=i.id,
            name=i.name,
            type=i.type,
            price=azr(i.price),
            stock=i.stock,
            metadata=dict(i.metadata),
        )


class CatalogPage(BaseModel):
    data: list[ItemPublic]


class ShippingAddress(Input):
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    line1: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    line2: Annotated[StrictStr, Field(max_length=200)] | None = None
    city: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    region: Annotated[StrictStr, Field(max_length=200)] | None = None
    postal_code: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    country: Annotated[StrictStr, Field(min_length=2, max_length=200)]
    phone: Annotated[StrictStr, Field(max_length=200)] | None = None


class RedemptionCreate(Input):
    item_id: ItemId
    shipping_address: ShippingAddress | None = None
    eth_address: Annotated[StrictStr, Field(pattern=r"^0x[0-9a-fA-F]{40}$")] | None = None

    def address(self) -> dict[str, Any] | None:
        if self.shipping_address is None:
            return None
        return self.shipping_address.model_dump(exclude_none=True)


class RejectBody(Input):
    reason: Annotated[StrictStr, Field(min_length=1, max_length=500)]


class RedemptionPublic(BaseModel):
    id: str
    user_id: str
    item_id: str
    item_type: ItemType
    price: AmountOut
    status: str
    hold_entry_id: str | None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    shipping_address: dict[str, Any] | None
    eth_address: str | None
    tx_hash: str | None
    reason: str | None
    fulfilment: dict[str, Any] | None

    @classmethod
    def build(cls, r: Redemption) -> RedemptionPublic:
        return cls(
            id=r.id,
            user_id=r.user_id,
            item_id=r.item_id,
            item_type=r.item_type,
            price=azr(r.price),
            status=r.status.value,
            hold_entry_id=r.hold_entry_id,
            expires_at=r.expires_at,
            created_at=r.created_at,
            updated_at=r.updated_at,
            shipping_address=r.shipping_address,
            eth_address=r.eth_address,
            tx_hash=r.tx_hash,
            reason=r.reason,
            fulfilment=r.fulfilment,
        )


class RedemptionPage(BaseModel):
    data: list[RedemptionPublic]
    next_cursor: str | None


# --- leaderboards and social -----------------------------------------------------------------


class RankedPublic(BaseModel):
    rank: int
    user_id: str
    score: AmountOut

    @classmethod
    def build(cls, r: Ranked) -> RankedPublic:
        return cls(rank=r.rank, user_id=r.user_id, score=azr(r.score))


class BoardPublic(BaseModel):
    scope: str
    window: str
    window_start: date
    entries: list[RankedPublic]
    me: RankedPublic | None = Field(
        default=None, description="The caller's own place, even off the page; null if unranked."
    )

    @classmethod
    def build(cls, b: Board) -> BoardPublic:
        return cls(
            scope=b.scope,
            window=b.window.value,
            window_start=b.window_start,
            entries=[RankedPublic.build(r) for r in b.entries],
            me=RankedPublic.build(b.me) if b.me else None,
        )


class MemberCreate(Input):
    user_id: UserId


class MemberPublic(BaseModel):
    class_id: str
    user_id: str


class MemberPage(BaseModel):
    data: list[str]
    next_cursor: str | None


class FriendCreate(Input):
    friend_id: UserId


class FriendPublic(BaseModel):
    user_id: str
    friend_id: str
    mutual: bool = Field(description="True once both sides asked: only then it counts.")


class FriendList(BaseModel):
    data: list[FriendPublic]
