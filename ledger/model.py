"""The ledger's value types: small, frozen, free of I/O.

An :class:`Entry` is one immutable journal event. Plain entries move value at once; a
*hold* is an entry created ``pending`` that reserves value until a later event posts it,
voids it or expires it. Resolutions are entries of their own (types ``post_pending``,
``void_pending``, ``expire_pending``) that reference the hold: the journal only grows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Any

from ledger import checks
from ledger.canonical import canonical_json, iso_utc, keccak256
from ledger.checks import (
    check_account_id,
    check_idempotency_key,
    check_instant,
    check_kind,
)
from ledger.errors import InvalidAccount, InvalidEntry, InvalidRequest
from ledger.money import MAX_AMOUNT_EXCLUSIVE, asset, check_units

# The patterns live in ledger.checks; named here too, where callers have found them.
ACCOUNT_ID_RE = checks.ACCOUNT_ID_RE
KIND_RE = checks.KIND_RE
KIND_MAX_CHARS = checks.KIND_MAX_CHARS
IDEMPOTENCY_KEY_RE = checks.IDEMPOTENCY_KEY_RE
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
    """What a caller asks the ledger to record (validated by :func:`validate_new_entry`).

    ``identity`` says which fields define the command for idempotency. Without it the
    fingerprint is the whole request (an HTTP caller's body: DESIGN §5). A domain command
    that stamps ``effective_at`` (or metadata) at the moment it runs passes the fields that
    make it *this* command (``{"user_id": ..., "event_type": ...}``): a second copy with the
    same key and identity then replays the original entry, whatever else differs, and the
    same key with another identity is :class:`~ledger.errors.IdempotencyConflict`.
    """

    kind: str
    postings: tuple[Posting, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    pending: bool = False
    expires_at: datetime | None = None
    effective_at: datetime | None = None
    limits: tuple[Limit, ...] = ()
    identity: Mapping[str, Any] | None = None

    def fingerprint(self, postings: bytes | None = None, metadata: bytes | None = None) -> str:
        """A digest of the command, compared when an idempotency key is reused.

        Without ``identity``: keccak256 of the canonical JSON of ``{kind, postings, metadata,
        pending, expires_at, effective_at}``, assembled from the canonical JSON of the
        postings and the metadata (``postings``/``metadata`` when the caller has them; a
        test keeps the dict encoding as the reference). Only for validated requests.
        """
        if self.identity is not None:
            body = canonical_json({"identity": dict(self.identity)}, checked=True)
            return keccak256(body).hex()
        if postings is None:
            postings = postings_json(self.postings)
        if metadata is None:
            metadata = canonical_json(dict(self.metadata), checked=True)
        effective = "null" if self.effective_at is None else _STR(iso_utc(self.effective_at))
        expires = "null" if self.expires_at is None else _STR(iso_utc(self.expires_at))
        head = f'{{"effective_at":{effective},"expires_at":{expires},"kind":{_STR(self.kind)}'
        pending = (
            b',"pending":true,"postings":' if self.pending else b',"pending":false,"postings":'
        )
        return keccak256(head.encode(), b',"metadata":', metadata, pending, postings, b"}").hex()


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
        """The bytes chained by ``hash = keccak256(prev_hash || canonical)``: the canonical
        JSON of every field but ``hash`` (see :func:`canonical_entry`)."""
        return canonical_entry(
            self, postings_json(self.postings), canonical_json(dict(self.metadata), checked=True)
        )

    def chained_hash(self, prev_hash: bytes) -> bytes:
        return keccak256(prev_hash, self.canonical())


_STR = encode_basestring  # JSON string literal, non-ASCII kept: what canonical_json writes


def _opt(value: str | None) -> str:
    return "null" if value is None else _STR(value)


def postings_json(postings: Sequence[Posting]) -> bytes:
    """``canonical_json([p.as_json() for p in postings])``, built directly (the hot path)."""
    return (
        "["
        + ",".join(
            f'{{"amount":"{p.amount}","asset":{_STR(p.asset)},'
            f'"destination":{_STR(p.destination)},"source":{_STR(p.source)}}}'
            for p in postings
        )
        + "]"
    ).encode()


def canonical_entry(e: Entry, postings: bytes, metadata: bytes) -> bytes:
    """The canonical JSON of ``e`` without its hash, given its postings' and metadata's.

    Byte for byte what ``canonical_json`` gives for the dict of those fields (keys sorted;
    a test keeps that reference): the writer chains every entry through this, so it is
    assembled from its parts instead of walking a dict.
    Precondition: ``postings``/``metadata`` are the canonical JSON of ``e``'s.
    """
    expires = "null" if e.expires_at is None else _STR(iso_utc(e.expires_at))
    head = (
        f'{{"effective_at":{_STR(iso_utc(e.effective_at))},"expires_at":{expires},'
        f'"fingerprint":{_opt(e.fingerprint)},"hold_id":{_opt(e.hold_id)},"id":{_STR(e.id)},'
        f'"idempotency_key":{_opt(e.idempotency_key)},"kind":{_STR(e.kind)},"metadata":'
    )
    tail = (
        f',"principal":{_opt(e.principal)},"recorded_at":{_STR(iso_utc(e.recorded_at))},'
        f'"reverses_id":{_opt(e.reverses_id)},"seq":{e.seq},"type":{_STR(e.type.value)}}}'
    )
    return b"".join((head.encode(), metadata, b',"postings":', postings, tail.encode()))


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


class Period(StrEnum):
    """Calendar periods in UTC that :meth:`ledger.Ledger.line_totals` sums lines by."""

    ALL = "all"  # the whole history: one total per account
    WEEK = "week"  # ISO weeks, from Monday 00:00 UTC
    MONTH = "month"  # calendar months, UTC

    def start(self, at: datetime) -> date | None:
        """The first UTC day of the period that holds instant ``at`` (None for ALL)."""
        day = at.astimezone(UTC).date()
        if self is Period.WEEK:
            return day - timedelta(days=day.weekday())
        if self is Period.MONTH:
            return day.replace(day=1)
        return None


@dataclass(frozen=True, slots=True)
class LineTotal:
    """The sum of an account's history lines in one period (``period_start`` None: ALL)."""

    account_id: str
    period_start: date | None
    amount: int


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
    """Pure checks of a new account; raises InvalidAccount / UnknownAsset / InvalidText."""
    check_account_id(account.id)
    asset(account.asset)
    if type(account.allow_negative) is not bool:
        raise InvalidAccount("allow_negative must be true or false")
    _check_metadata(account.metadata, "account metadata", InvalidAccount)


def validate_kind(kind: object) -> str:
    return check_kind(kind)


def validate_idempotency_key(key: object) -> str:
    return check_idempotency_key(key)


def validate_posting(p: Posting) -> None:
    check_account_id(p.source)
    check_account_id(p.destination)
    if p.source == p.destination:
        raise InvalidEntry(f"posting source and destination are both {p.source!r}")
    check_units(p.amount, asset(p.asset))


def validate_new_entry(entry: NewEntry, now: datetime) -> bytes:
    """Pure checks that need no database; raises a typed :class:`InvalidRequest`.

    After these, every value of ``entry`` can be hashed and stored on every back end.
    Returns the canonical JSON of its metadata (made to measure it).
    """
    validate_kind(entry.kind)
    if not isinstance(entry.postings, tuple) or not entry.postings:
        raise InvalidEntry("an entry needs at least one posting (a tuple of Posting)")
    if len(entry.postings) > POSTINGS_MAX:
        raise InvalidEntry(f"an entry takes at most {POSTINGS_MAX} postings")
    for p in entry.postings:
        if not isinstance(p, Posting):
            raise InvalidEntry("postings must be Posting values")
        validate_posting(p)
    metadata = _check_metadata(entry.metadata, "metadata", InvalidEntry)
    if entry.identity is not None:
        _check_metadata(entry.identity, "identity", InvalidEntry)
    if type(entry.pending) is not bool:
        raise InvalidEntry("pending must be true or false")
    if entry.expires_at is not None:
        if not entry.pending:
            raise InvalidEntry("expires_at is only for pending entries (holds)")
        check_instant(entry.expires_at, "expires_at")
        if entry.expires_at <= now:
            raise InvalidEntry("expires_at must be in the future")
    if entry.effective_at is not None:
        check_instant(entry.effective_at, "effective_at")
    if not isinstance(entry.limits, tuple):
        raise InvalidEntry("limits must be a tuple of Limit")
    for limit in entry.limits:
        validate_limit(limit)
    return metadata


def _check_metadata(value: object, what: str, error: type[InvalidRequest]) -> bytes:
    if not isinstance(value, Mapping):
        raise error(f"{what} must be an object")
    encoded = canonical_json(dict(value))
    if len(encoded) > METADATA_MAX_BYTES:
        raise error(f"{what} exceeds {METADATA_MAX_BYTES} bytes")
    return encoded


def validate_limit(limit: Limit) -> None:
    if not isinstance(limit, Limit):
        raise InvalidEntry("limits must be Limit values")
    check_account_id(limit.account_id, "limit account id")
    validate_kind(limit.kind)
    since = check_instant(limit.since, "a limit's since")
    until = check_instant(limit.until, "a limit's until")
    if since >= until:
        raise InvalidEntry("a limit's window needs since < until")
    if type(limit.max_amount) is not int or not 0 <= limit.max_amount < MAX_AMOUNT_EXCLUSIVE:
        raise InvalidEntry("a limit's max_amount is a non-negative int of smallest units")
    try:
        Direction(limit.direction)
    except ValueError:
        raise InvalidEntry(
            f"a limit's direction is 'in' or 'out', not {limit.direction!r:.20}"
        ) from None
