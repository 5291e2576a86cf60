"""Entries and holds: requests in, journal events out."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictStr

from api.schemas.common import AccountId, AmountIn, AmountOut, Input, Metadata, Problem
from ledger import (
    Entry,
    EntryType,
    HoldState,
    NewEntry,
    Posting,
    format_amount,
    parse_amount,
)
from ledger import asset as asset_of
from ledger.model import KIND_MAX_CHARS, POSTINGS_MAX

BATCH_MAX_ENTRIES = 1000
KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"

_STATUS_OF_TYPE = {
    EntryType.POSTED: "posted",
    EntryType.PENDING: "pending",
    EntryType.POST_PENDING: "posted",
    EntryType.VOID_PENDING: "voided",
    EntryType.EXPIRE_PENDING: "expired",
}

_ENTRY_EXAMPLE: dict[str, Any] = {
    "kind": "transfer",
    "postings": [
        {"source": "user:42:usd", "destination": "user:7:usd", "asset": "USD", "amount": "25.00"}
    ],
    "metadata": {"note": "lunch"},
}


class PostingIn(Input):
    source: AccountId
    destination: AccountId
    asset: Annotated[StrictStr, Field(max_length=16, examples=["USD"])]
    amount: AmountIn

    def to_ledger(self) -> Posting:
        return Posting(
            self.source,
            self.destination,
            self.asset,
            parse_amount(self.amount, asset_of(self.asset)),
        )


class EntryCreate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [_ENTRY_EXAMPLE]})

    kind: Annotated[StrictStr, Field(pattern=KIND_PATTERN, max_length=KIND_MAX_CHARS)]
    postings: Annotated[list[PostingIn], Field(min_length=1, max_length=POSTINGS_MAX)]
    metadata: Metadata = Field(default_factory=dict)
    pending: StrictBool = Field(
        default=False, description="Create a hold: reserve now, post or void later."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="A hold's deadline (only with `pending`)."
    )

    def to_ledger(self) -> NewEntry:
        """The ledger's request; raises InvalidAmount/UnknownAsset for a bad amount."""
        return NewEntry(
            kind=self.kind,
            postings=tuple(p.to_ledger() for p in self.postings),
            metadata=self.metadata,
            pending=self.pending,
            expires_at=self.expires_at,
        )


class BatchEntryCreate(EntryCreate):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_ENTRY_EXAMPLE, "idempotency_key": "lunch-1042"}]}
    )

    idempotency_key: Annotated[StrictStr, Field(pattern=IDEMPOTENCY_KEY_PATTERN)]


class BatchCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"entries": [{**_ENTRY_EXAMPLE, "idempotency_key": "lunch-1042"}]}]
        }
    )

    entries: Annotated[list[BatchEntryCreate], Field(min_length=1, max_length=BATCH_MAX_ENTRIES)]


class PostingPublic(BaseModel):
    source: str
    destination: str
    asset: str
    amount: AmountOut


class EntryPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6f1c0e9e-2f5b-4c1e-9a8e-0d9b5c1f7a10",
                    "seq": 7,
                    "type": "posted",
                    "status": "posted",
                    "kind": "transfer",
                    "postings": [
                        {
                            "source": "user:42:usd",
                            "destination": "user:7:usd",
                            "asset": "USD",
                            "amount": "25.00",
                        }
                    ],
                    "metadata": {"note": "lunch"},
                    "effective_at": "2026-01-01T00:00:00Z",
                    "recorded_at": "2026-01-01T00:00:00Z",
                    "expires_at": None,
                    "hold_id": None,
                    "reverses_id": None,
                    "idempotency_key": "lunch-1042",
                }
            ]
        }
    )

    id: str
    seq: int
    type: str = Field(
        description="posted, pending (a hold), post_pending, void_pending, expire_pending"
    )
    status: str = Field(
        description="posted, pending, voided or expired. On creation (and its replays) the "
        "status at creation; on GET, a hold's current status."
    )
    kind: str
    postings: list[PostingPublic]
    metadata: dict[str, Any]
    effective_at: datetime
    recorded_at: datetime
    expires_at: datetime | None
    hold_id: str | None
    reverses_id: str | None
    idempotency_key: str | None

    @classmethod
    def build(cls, entry: Entry, status: str | None = None) -> EntryPublic:
        return cls.model_validate(entry_json(entry, status))


def _instant(value: datetime | None) -> str | None:
    # The same text pydantic writes for an aware datetime.
    if value is None:
        return None
    if value.tzinfo is UTC:  # equal instants in other zones must not share a text
        return _utc_instant(value)
    return value.isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=256)  # an entry's instants are often one, and a batch shares them
def _utc_instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def entry_json(entry: Entry, status: str | None = None) -> dict[str, Any]:
    """An :class:`EntryPublic` as plain JSON data.

    The write paths answer with this directly (no model round trip): at thousands of
    entries per second, building and re-validating models is most of the API's CPU.
    """
    return {
        "id": entry.id,
        "seq": entry.seq,
        "type": entry.type.value,
        "status": status or _STATUS_OF_TYPE[entry.type],
        "kind": entry.kind,
        "postings": [
            {
                "source": p.source,
                "destination": p.destination,
                "asset": p.asset,
                "amount": format_amount(p.amount, asset_of(p.asset)),
            }
            for p in entry.postings
        ],
        "metadata": dict(entry.metadata),
        "effective_at": _instant(entry.effective_at),
        "recorded_at": _instant(entry.recorded_at),
        "expires_at": _instant(entry.expires_at),
        "hold_id": entry.hold_id,
        "reverses_id": entry.reverses_id,
        "idempotency_key": entry.idempotency_key,
    }


class EntryPage(BaseModel):
    data: list[EntryPublic] = Field(description="Newest first; a hold with its current status.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )


class BatchItemResult(BaseModel):
    index: int
    idempotency_key: str
    status: int = Field(description="The HTTP status this entry alone would have had.")
    replayed: bool = False
    entry: EntryPublic | None = None
    problem: Problem | None = None


class BatchPublic(BaseModel):
    results: list[BatchItemResult] = Field(description="One result per entry, in order.")


class HoldPublic(BaseModel):
    hold_id: str
    status: str = Field(description="pending, posted, voided or expired")
    hold: EntryPublic
    resolution: EntryPublic | None

    @classmethod
    def build(cls, state: HoldState) -> HoldPublic:
        return cls(
            hold_id=state.hold.id,
            status=state.status.value,
            hold=EntryPublic.build(state.hold, state.status.value),
            resolution=EntryPublic.build(state.resolution) if state.resolution else None,
        )
