"""The change stream (DESIGN §15): events and pages of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import AmountOut

EVENT_EXAMPLE: dict[str, Any] = {
    "seq": 42,
    "entry_id": "6f1c0e9e-2f5b-4c1e-9a8e-0d9b5c1f7a10",
    "type": "entry.posted",
    "kind": "reward.earned",
    "postings": [
        {
            "source": "platform:rewards",
            "destination": "user:42:azr",
            "asset": "AZR",
            "amount": "10.000000000000000000",
        }
    ],
    "metadata": {"event_id": "lesson-7-done"},
    "effective_at": "2026-12-02T10:00:00Z",
    "recorded_at": "2026-12-02T10:00:00Z",
    "expires_at": None,
    "hold_id": None,
    "reverses_id": None,
    "hash": "0x5c3a" + "0" * 60,
}


class EventPosting(BaseModel):
    source: str
    destination: str
    asset: str
    amount: AmountOut


class Event(BaseModel):
    """One journal event, as the stream and every webhook delivery carry it."""

    model_config = ConfigDict(json_schema_extra={"examples": [EVENT_EXAMPLE]})

    seq: int = Field(description="The journal position: gapless, in commit order.")
    entry_id: str
    type: str = Field(
        description="entry.posted, hold.created, hold.posted, hold.voided or hold.expired"
    )
    kind: str
    postings: list[EventPosting]
    metadata: dict[str, Any]
    effective_at: datetime
    recorded_at: datetime
    expires_at: datetime | None = Field(description="A hold's deadline.")
    hold_id: str | None = Field(description="The hold a resolution resolves.")
    reverses_id: str | None = Field(description="The entry a reversal corrects.")
    hash: str = Field(description="keccak256 chaining the entry to the one before (0x hex).")


class EventPage(BaseModel):
    data: list[Event] = Field(description="Events in seq order.")
    next_cursor: str | None = Field(
        description="Set when the page is full: pass it as `cursor` (or `after_seq`)."
    )
    last_seq: int = Field(
        description="Where to resume (as `after_seq`): the last event's seq on a full page, "
        "else the journal head this page was read up to (events a `kind` filter skipped are "
        "not scanned again)."
    )
