"""The change stream's event: one journal entry as the API and webhook deliveries show it.

An event is an entry of the journal with its type named for what happened to value
(DESIGN §15): ``entry.posted`` moved it at once, ``hold.created`` reserved it, and
``hold.posted`` / ``hold.voided`` / ``hold.expired`` resolved a hold. Amounts are decimal
strings in whole units with the asset's full scale, like every amount at the API.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledger import Entry, EntryType, InvalidRequest, format_amount
from ledger import asset as asset_of

EVENT_TYPES: dict[EntryType, str] = {
    EntryType.POSTED: "entry.posted",
    EntryType.PENDING: "hold.created",
    EntryType.POST_PENDING: "hold.posted",
    EntryType.VOID_PENDING: "hold.voided",
    EntryType.EXPIRE_PENDING: "hold.expired",
}
ENTRY_TYPE_OF_EVENT = {name: entry_type for entry_type, name in EVENT_TYPES.items()}


def instant(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` (the text pydantic writes for an aware datetime)."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def event_json(entry: Entry) -> dict[str, Any]:
    """The event of ``entry`` as plain JSON data."""
    return {
        "seq": entry.seq,
        "entry_id": entry.id,
        "type": EVENT_TYPES[entry.type],
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
        "effective_at": instant(entry.effective_at),
        "recorded_at": instant(entry.recorded_at),
        "expires_at": instant(entry.expires_at),
        "hold_id": entry.hold_id,
        "reverses_id": entry.reverses_id,
        "hash": "0x" + entry.hash.hex(),
    }


def event_bytes(entry: Entry) -> bytes:
    """The event as compact UTF-8 JSON: the body of a webhook delivery, the data of an SSE
    message (one line: JSON escapes every newline inside strings)."""
    return json.dumps(event_json(entry), separators=(",", ":"), ensure_ascii=False).encode()


def entry_types(names: Sequence[str] | None) -> tuple[EntryType, ...] | None:
    """The journal types of event type names (``hold.created``, ...); None: every type."""
    if names is None:
        return None
    unknown = [n for n in names if n not in ENTRY_TYPE_OF_EVENT]
    if unknown:
        known = ", ".join(ENTRY_TYPE_OF_EVENT)
        raise InvalidRequest(f"unknown event type {unknown[0]!r:.80}; known: {known}")
    return tuple(ENTRY_TYPE_OF_EVENT[n] for n in dict.fromkeys(names))
