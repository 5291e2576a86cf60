"""Accounts: what a client sends to open one, and what it reads back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from api.schemas.common import AccountId, AmountOut, Input, Metadata
from ledger import Account, Balance, format_amount
from ledger import asset as asset_of


class AccountCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "user:42:usd", "asset": "USD"},
                {"id": "world:card", "asset": "USD", "allow_negative": True},
            ]
        }
    )

    id: AccountId
    asset: Annotated[StrictStr, Field(max_length=16, description="USD or AZR", examples=["USD"])]
    allow_negative: StrictBool = Field(default=False, description="Only for system/world accounts.")
    metadata: Metadata = Field(default_factory=dict)

    def to_ledger(self) -> Account:
        return Account(self.id, self.asset, self.allow_negative, self.metadata)


class AccountPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "user:42:usd",
                    "asset": "USD",
                    "allow_negative": False,
                    "metadata": {},
                    "created_at": "2026-01-01T00:00:00Z",
                    "balance": "100.00",
                    "pending_out": "10.00",
                    "pending_in": "0.00",
                    "available": "90.00",
                }
            ]
        }
    )

    id: str
    asset: str
    allow_negative: bool
    metadata: dict[str, Any]
    created_at: datetime | None
    balance: AmountOut
    pending_out: AmountOut
    pending_in: AmountOut
    available: AmountOut

    @classmethod
    def build(cls, account: Account, balance: Balance) -> AccountPublic:
        unit = asset_of(account.asset)
        return cls(
            id=account.id,
            asset=account.asset,
            allow_negative=account.allow_negative,
            metadata=dict(account.metadata),
            created_at=account.created_at,
            balance=format_amount(balance.balance, unit),
            pending_out=format_amount(balance.pending_out, unit),
            pending_in=format_amount(balance.pending_in, unit),
            available=format_amount(balance.available, unit),
        )


class HistoryItem(BaseModel):
    entry_id: str
    seq: int
    kind: str
    amount: AmountOut = Field(description="Signed: negative when value left the account.")
    balance_after: AmountOut
    effective_at: datetime


class HistoryPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [
                        {
                            "entry_id": "6f1c0e9e-2f5b-4c1e-9a8e-0d9b5c1f7a10",
                            "seq": 7,
                            "kind": "transfer",
                            "amount": "-25.00",
                            "balance_after": "75.00",
                            "effective_at": "2026-01-01T00:00:00Z",
                        }
                    ],
                    "next_cursor": "7",
                }
            ]
        }
    )

    data: list[HistoryItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )


class AccountPage(BaseModel):
    data: list[AccountPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page (ids in order); null on the last page."
    )
