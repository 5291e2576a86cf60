"""Pure value types and rules of the rewards domain: no I/O.

Five transaction types, each a family of ledger entry ``kind``s with its own accounts:

=====================  ===============================  ==================================
kind                   postings                         why
=====================  ===============================  ==================================
reward.earned.{event}  platform:azr:rewards -> user     an earning rule paid out
reward.spent           user -> platform:azr:spent       paying for a platform item
reward.redeemed        user -> platform:azr:redeemed    a catalog redemption (hold, then post)
                       user -> platform:azr:withdrawn   ... an on-chain withdrawal
reward.transferred     user -> user                     a gift (configurable, daily limit)
reward.adjusted.{t}    the original's postings reversed an admin correction (Ledger.reverse)
=====================  ===============================  ==================================

Earnings carry the event type in the kind (``reward.earned.lesson.completed``) because the
ledger's race-free :class:`ledger.Limit` counts one kind on one account: a per-rule daily cap
needs a per-rule kind. Every earning kind starts with ``reward.earned.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from ledger import KIND_RE
from ledger.errors import InvalidRequest
from monetization.ids import SLUG_RE, USER_ID_RE, check_slug, check_user_id
from monetization.rewards.states import RedemptionStatus  # statuses and table: states.py

EVENT_TYPE_RE = KIND_RE  # an event type is a kind's tail: reward.earned.{event type}
EVENT_TYPE_MAX_CHARS = 48  # "reward.earned." + 48 + "" <= the ledger's 64-character kinds
ITEM_ID_RE = SLUG_RE
ETH_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
CLASS_ID_RE = SLUG_RE

AZR_CODE = "AZR"
REWARDS_POOL = "platform:azr:rewards"  # allow_negative: where earnings come from
SPENT = "platform:azr:spent"
REDEEMED = "platform:azr:redeemed"
WITHDRAWN = "platform:azr:withdrawn"  # its balance must equal the token's totalSupply
PLATFORM_ACCOUNTS = ((REWARDS_POOL, True), (SPENT, False), (REDEEMED, False), (WITHDRAWN, False))

KIND_EARNED_PREFIX = "reward.earned."
KIND_SPENT = "reward.spent"
KIND_REDEEMED = "reward.redeemed"
KIND_TRANSFERRED = "reward.transferred"
KIND_ADJUSTED_PREFIX = "reward.adjusted."
# An adjustment of an earning: counted (negatively) by the leaderboards.
KIND_ADJUSTED_EARNED = "reward.adjusted.earned"


def user_account(user_id: str) -> str:
    return f"user:{check_user_id(user_id)}:azr"


def user_of_account(account_id: str) -> str | None:
    """``"42"`` for ``"user:42:azr"``; None for any other account."""
    if account_id.startswith("user:") and account_id.endswith(":azr"):
        user = account_id[5:-4]
        return user if USER_ID_RE.fullmatch(user) else None
    return None


def earned_kind(event_type: str) -> str:
    return KIND_EARNED_PREFIX + check_event_type(event_type)


def adjusted_kind(original_kind: str) -> str:
    """``reward.adjusted.earned`` for any earning, ``reward.adjusted.spent`` for a spend..."""
    family = original_kind.split(".")[1] if original_kind.startswith("reward.") else "other"
    return KIND_ADJUSTED_PREFIX + family


def counts_as_earned(kind: str) -> bool:
    """Lines of these kinds on a user's account make up the leaderboard score."""
    return kind.startswith(KIND_EARNED_PREFIX) or kind == KIND_ADJUSTED_EARNED


def check_event_type(event_type: object) -> str:
    if (
        not isinstance(event_type, str)
        or len(event_type) > EVENT_TYPE_MAX_CHARS
        or not EVENT_TYPE_RE.fullmatch(event_type)
    ):
        raise InvalidRequest(
            f"event type {event_type!r} must be a dotted tag like 'lesson.completed' of at "
            f"most {EVENT_TYPE_MAX_CHARS} characters"
        )
    return event_type


def check_class_id(class_id: object) -> str:
    return check_slug(class_id, "class id")


# --- time windows ------------------------------------------------------------------------


class Window(StrEnum):
    ALL = "all"
    WEEK = "week"  # ISO week, Monday 00:00 UTC
    MONTH = "month"  # calendar month, UTC


ALL_TIME_START = date(1970, 1, 1)


def window_start(window: Window, at: datetime) -> date:
    """The first UTC day of the ``window`` that contains instant ``at``."""
    day = at.astimezone(UTC).date()
    if window is Window.WEEK:
        return day - timedelta(days=day.weekday())
    if window is Window.MONTH:
        return day.replace(day=1)
    return ALL_TIME_START


def utc_day(at: datetime) -> tuple[datetime, datetime]:
    """``[since, until)`` of the UTC calendar day containing ``at``: the window of caps."""
    since = datetime.combine(at.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    return since, since + timedelta(days=1)


# --- earning rules -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EarningRule:
    """``event_type`` earns ``amount`` (smallest units); at most ``daily_cap`` per UTC day."""

    event_type: str
    amount: int
    daily_cap: int | None
    active: bool = True

    def __post_init__(self) -> None:
        check_event_type(self.event_type)
        assert type(self.amount) is int and self.amount > 0, self.amount
        assert self.daily_cap is None or (type(self.daily_cap) is int and self.daily_cap >= 0)


# --- redemptions -----------------------------------------------------------------------------


class ItemType(StrEnum):
    FEATURE_UNLOCK = "feature_unlock"
    COURSE_CONTENT = "course_content"
    MERCHANDISE = "merchandise"
    ONCHAIN_WITHDRAWAL = "onchain_withdrawal"


@dataclass(frozen=True, slots=True)
class CatalogItem:
    id: str
    name: str
    type: ItemType
    price: int  # smallest AZR units
    stock: int | None = None  # None: unlimited
    active: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def unlock_days(self) -> int | None:
        days = self.metadata.get("days")
        return days if isinstance(days, int) and days > 0 else None


class MintState(StrEnum):
    """The life of a withdrawal's mint transaction (stored with the redemption)."""

    SIGNED = "signed"  # recorded, maybe not broadcast yet
    SUBMITTED = "submitted"  # broadcast (at least once)
    CONFIRMED = "confirmed"  # mined and succeeded: the hold is (to be) posted
    DROPPED = "dropped"  # its nonce went to another transaction: it can never be mined
    FAILED = "failed"  # mined and reverted

    @property
    def in_flight(self) -> bool:
        return self in (MintState.SIGNED, MintState.SUBMITTED)


@dataclass(frozen=True, slots=True)
class SignedMint:
    """A signed mint transaction, recorded before it is broadcast: enough to send the very
    same bytes again, find its receipt, and tell whether its nonce was used by another."""

    chain_id: int
    signer: str
    nonce: int
    raw: bytes
    tx_hash: str


@dataclass(frozen=True, slots=True)
class Redemption:
    id: str
    user_id: str
    item_id: str
    item_type: ItemType
    price: int
    status: RedemptionStatus
    request_key: str
    hold_key: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    hold_entry_id: str | None = None
    shipping_address: dict[str, Any] | None = None
    eth_address: str | None = None
    tx_hash: str | None = None
    intent: RedemptionStatus | None = None
    reason: str | None = None
    fulfilment: dict[str, Any] | None = None
    mint_state: MintState | None = None
    mint: SignedMint | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Entitlement:
    """What a feature unlock or course purchase grants: read by marketplace/subscriptions."""

    redemption_id: str
    user_id: str
    item_id: str
    type: ItemType
    until: datetime | None
    created_at: datetime


# --- leaderboards --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    user_id: str
    score: int


@dataclass(frozen=True, slots=True)
class Board:
    scope: str
    window: Window
    window_start: date
    entries: tuple[Ranked, ...]
    me: Ranked | None = None
    me_user_id: str | None = None


def rank_scores(scores: dict[str, int]) -> list[Ranked]:
    """The reference ranking: score descending, then user id ascending (deterministic)."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [Ranked(i + 1, user, score) for i, (user, score) in enumerate(ordered)]
