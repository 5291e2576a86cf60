"""Commands the journal writer applies, and what each one yields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ledger.errors import LedgerError
from ledger.model import HoldState, NewEntry, Posted


class HoldAction(StrEnum):
    POST = "post"
    VOID = "void"
    EXPIRE = "expire"


@dataclass(frozen=True, slots=True)
class PostEntry:
    """Record ``request`` (a plain entry or, with ``pending``, a hold)."""

    request: NewEntry
    principal: str = "system"
    idempotency_key: str | None = None
    # Computed by the caller's thread, outside the writer's critical section: the
    # fingerprint and the canonical JSON of the postings and the metadata.
    fingerprint: str | None = None
    postings_json: bytes | None = None
    metadata_json: bytes | None = None


@dataclass(frozen=True, slots=True)
class ResolveHold:
    """Post, void or expire the hold ``hold_id``. Idempotent by nature: no key needed."""

    hold_id: str
    action: HoldAction


@dataclass(frozen=True, slots=True)
class Reverse:
    """Record an entry that undoes ``entry_id`` and references it."""

    entry_id: str
    principal: str = "system"
    idempotency_key: str | None = None
    kind: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


Command = PostEntry | ResolveHold | Reverse
Outcome = Posted | HoldState | LedgerError
