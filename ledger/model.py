"""The ledger's value types: small, frozen, free of I/O.

An :class:`Entry` is one immutable journal event. Plain entries move value at once; a
*hold* is an entry created ``pending`` that reserves value until a later event posts it,
voids it or expires it. Resolutions are entries of their own (types ``post_pending``,
``void_pending``, ``expire_pending``) that reference the hold: the journal only grows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ledger.canonical import canonical_json, iso_utc, keccak256
from ledger.errors import InvalidAccount, InvalidEntry
from ledger.money import asset, check_units

ACCOUNT_ID_RE = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,127}")
KIND_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
KIND_MAX_CHARS = 64
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
METADATA_MAX_BYTES = 16 * 1024
POSTINGS_MAX = 100
GENESIS_HASH = bytes(32)


class EntryType(StrEnum):
    POSTED = "posted"  # moves value at once
    PENDING = "pending"  # a hold: reserves value until resolved
    POST_PENDING = "post_pending"  # resolves a hold: moves what it reserved
    VOID_PENDING = "void_pending"  # resolves a hold: releases what it reserved
    EXPIRE_PENDING = "expire_pending"  # the hold's deadline passed: releases it

    @property
    def resolves_hold(self) -> bool:
        return self in _RESOLUTIONS


_RESOLUTIONS = frozenset({EntryType.POST_PENDING, EntryType.VOID_PENDING, EntryType.EXPIRE_PENDING})


class HoldStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


RESOLUTION_STATUS = {
    EntryType.POST_PENDING: HoldStatus.POSTED,
    EntryType.VOID_PENDING: HoldStatus.VOIDED,
    EntryType.EXPIRE_PENDING: HoldStatus.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    asset: str
    allow_negative: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Posting:
    """Moves ``amount`` smallest units of ``asset`` from ``source`` to ``destination``."""

    source: str
    destination: str
    asset: str
    amount: int

    def as_json(self) -> dict[str, str]:
        return {
            "source": self.source,
            "destination": self.destination,
            "asset": self.asset,
            "amount": str(self.amount),
        }


class Direction(StrEnum):
    IN = "in"  # value credited to the account
    OUT = "out"  # value debited from the account


@dataclass(frozen=True, slots=True)
class Limit:
    """A cap checked by the writer, race-free, when the entry is recorded.

    The posted amount that entries of ``kind`` moved ``direction`` on ``account_id`` with an
    ``effective_at`` in ``[since, until)``, plus this entry's, must not pass ``max_amount``;
    otherwise the entry is refused with :class:`LimitExceeded` and nothing is written.
    Daily reward caps and gift limits are limits. A limit is policy, not part of the
    request: it does not enter the idempotency fingerprint.
    """

    account_id: str
    kind: str
    since: datetime
    until: datetime
    max_amount: int
    direction: Direction = Direction.IN


@dataclass(frozen=True, slots=True)
class NewEntry:
    """What a caller asks the ledger to record (validated by :func:`validate_new_entry`)."""

    kind: str
    postings: tuple[Posting, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    pending: bool = False
    expires_at: datetime | None = None
    effective_at: datetime | None = None
    limits: tuple[Limit, ...] = ()

    def fingerprint(self) -> str:
        """A digest of the request, compared when an idempotency key is reused."""
        body = {
            "kind": self.kind,
            "postings": [p.as_json() for p in self.postings],
            "metadata": dict(self.metadata),
            "pending": self.pending,
            "expires_at": iso_utc(self.expires_at) if self.expires_at else None,
            "effective_at": iso_utc(self.effective_at) if self.effective_at else None,
        }
        # Only called on validated requests: skip the type walk.
        return keccak256(canonical_json(body, checked=True)).hex()


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal event, exactly as stored and hashed."""

    id: str
    seq: int
    type: EntryType
    kind: str
    postings: tuple[Posting, ...]
    metadata: Mapping[str, Any]
    effective_at: datetime
    recorded_at: datetime
    expires_at: datetime | None = None
    hold_id: str | None = None
    reverses_id: str | None = None
    principal: str | None = None
    idempotency_key: str | None = None
    fingerprint: str | None = None
    hash: bytes = b""

    def canonical(self) -> bytes:
        """The bytes chained by ``hash = keccak256(prev_hash || canonical)``."""
        return canonical_json(
            {
                "id": self.id,
                "seq": self.seq,
                "type": self.type.value,
                "kind": self.kind,
                "postings": [p.as_json() for p in self.postings],
                "metadata": dict(self.metadata),
                "effective_at": iso_utc(self.effective_at),
                "recorded_at": iso_utc(self.recorded_at),
                "expires_at": iso_utc(self.expires_at) if self.expires_at else None,
                "hold_id": self.hold_id,
                "reverses_id": self.reverses_id,
                "principal": self.principal,
                "idempotency_key": self.idempotency_key,
                "fingerprint": self.fingerprint,
            },
            checked=True,  # every part was validated when the request was accepted
        )

    def chained_hash(self, prev_hash: bytes) -> bytes:
        return keccak256(prev_hash, self.canonical())


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's projection; ``available`` counts value reserved by open holds."""

    account_id: str
    asset: str
    balance: int
    pending_out: int
    pending_in: int
    last_seq: int = 0

    @property
    def available(self) -> int:
        return self.balance - self.pending_out


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """How one entry changed one account, with the running balance after it."""

    account_id: str
    seq: int
    entry_id: str
    kind: str
    amount: int
    balance_after: int
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class Posted:
    """The outcome of a value-moving command: the entry, and whether it was a replay."""

    entry: Entry
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class HoldState:
    hold: Entry
    status: HoldStatus
    resolution: Entry | None = None


def validate_account(account: Account) -> None:
    """Pure checks of a new account; raises InvalidAccount / UnknownAsset."""
    if not isinstance(account.id, str) or not ACCOUNT_ID_RE.fullmatch(account.id):
        raise InvalidAccount(
            f"account id {account.id!r} must match ^[a-z0-9][a-z0-9_.:-]{{0,127}}$"
        )
    asset(account.asset)
    if not isinstance(account.metadata, Mapping):
        raise InvalidAccount("account metadata must be an object")
    if len(canonical_json(dict(account.metadata))) > METADATA_MAX_BYTES:
        raise InvalidAccount(f"account metadata exceeds {METADATA_MAX_BYTES} bytes")


def validate_kind(kind: object) -> str:
    if not isinstance(kind, str) or len(kind) > KIND_MAX_CHARS or not KIND_RE.fullmatch(kind):
        raise InvalidEntry(
            f"kind {kind!r} must be a dotted tag like 'reward.earned' of at most "
            f"{KIND_MAX_CHARS} characters"
        )
    return kind


def validate_idempotency_key(key: object) -> str:
    if not isinstance(key, str) or not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise InvalidEntry("idempotency key must be 1-128 characters of [A-Za-z0-9_.:-]")
    return key


def validate_posting(p: Posting) -> None:
    for account_id in (p.source, p.destination):
        if not isinstance(account_id, str) or not ACCOUNT_ID_RE.fullmatch(account_id):
            raise InvalidAccount(f"account id {account_id!r} is not a valid account id")
    if p.source == p.destination:
        raise InvalidEntry(f"posting source and destination are both {p.source!r}")
    check_units(p.amount, asset(p.asset))


def validate_new_entry(entry: NewEntry, now: datetime) -> None:
    """Pure checks that need no database; raises a typed :class:`InvalidRequest`."""
    validate_kind(entry.kind)
    if not entry.postings:
        raise InvalidEntry("an entry needs at least one posting")
    if len(entry.postings) > POSTINGS_MAX:
        raise InvalidEntry(f"an entry takes at most {POSTINGS_MAX} postings")
    for p in entry.postings:
        validate_posting(p)
    if not isinstance(entry.metadata, Mapping):
        raise InvalidEntry("metadata must be an object")
    if len(canonical_json(dict(entry.metadata))) > METADATA_MAX_BYTES:
        raise InvalidEntry(f"metadata exceeds {METADATA_MAX_BYTES} bytes")
    if entry.expires_at is not None:
        if not entry.pending:
            raise InvalidEntry("expires_at is only for pending entries (holds)")
        if entry.expires_at.tzinfo is None:
            raise InvalidEntry("expires_at must carry a timezone")
        if entry.expires_at <= now:
            raise InvalidEntry("expires_at must be in the future")
    if entry.effective_at is not None and entry.effective_at.tzinfo is None:
        raise InvalidEntry("effective_at must carry a timezone")
    for limit in entry.limits:
        validate_limit(limit)


def validate_limit(limit: Limit) -> None:
    if not ACCOUNT_ID_RE.fullmatch(limit.account_id):
        raise InvalidAccount(f"limit names an invalid account id {limit.account_id!r}")
    validate_kind(limit.kind)
    if limit.since.tzinfo is None or limit.until.tzinfo is None or limit.since >= limit.until:
        raise InvalidEntry("a limit's window needs timezone-aware since < until")
    if type(limit.max_amount) is not int or limit.max_amount < 0:
        raise InvalidEntry("a limit's max_amount is a non-negative int of smallest units")
    Direction(limit.direction)
