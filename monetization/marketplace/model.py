"""The marketplace's values and its state machines, written down as transition tables.

Amounts are integer cents of USD. A course is ``draft`` until its owner publishes it; only
published courses are listed and sold. A purchase is recorded ``pending`` before the card is
charged and becomes ``completed`` with its ledger entry; a refund or a release *claims* it
(``refunding`` / ``releasing``) before it touches the ledger, so the two can never both
happen, and a crash half-way is finished with the same idempotency keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from monetization.marketplace.split import Split

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


class Level(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


class CourseEvent(StrEnum):
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"


# (state, event) -> next state. An event absent for a state it already produced is a repeat
# and answers the current state (publishing a published course changes nothing).
COURSE_TRANSITIONS: dict[tuple[CourseStatus, CourseEvent], CourseStatus] = {
    (CourseStatus.DRAFT, CourseEvent.PUBLISH): CourseStatus.PUBLISHED,
    (CourseStatus.UNPUBLISHED, CourseEvent.PUBLISH): CourseStatus.PUBLISHED,
    (CourseStatus.PUBLISHED, CourseEvent.UNPUBLISH): CourseStatus.UNPUBLISHED,
}


class PurchaseStatus(StrEnum):
    PENDING = "pending"  # recorded, the card not charged yet (or the entry not posted yet)
    COMPLETED = "completed"  # paid; the share waits in instructor:{id}:pending
    REFUNDING = "refunding"  # a refund claimed it
    REFUNDED = "refunded"  # the sale reversed, access revoked
    RELEASING = "releasing"  # the release claimed it
    RELEASED = "released"  # the share moved to instructor:{id}:available


class PurchaseEvent(StrEnum):
    CAPTURE = "capture"
    BEGIN_REFUND = "begin_refund"
    FINISH_REFUND = "finish_refund"
    BEGIN_RELEASE = "begin_release"
    FINISH_RELEASE = "finish_release"


P = PurchaseStatus
PURCHASE_TRANSITIONS: dict[tuple[PurchaseStatus, PurchaseEvent], PurchaseStatus] = {
    (P.PENDING, PurchaseEvent.CAPTURE): P.COMPLETED,
    (P.COMPLETED, PurchaseEvent.BEGIN_REFUND): P.REFUNDING,
    # After the window, and only by an admin: the receivable rule (see refunds.py).
    (P.RELEASED, PurchaseEvent.BEGIN_REFUND): P.REFUNDING,
    (P.REFUNDING, PurchaseEvent.FINISH_REFUND): P.REFUNDED,
    (P.COMPLETED, PurchaseEvent.BEGIN_RELEASE): P.RELEASING,
    (P.RELEASING, PurchaseEvent.FINISH_RELEASE): P.RELEASED,
}
# Statuses that give the buyer access, and those that keep a second purchase out.
GRANTS_ACCESS = frozenset({P.COMPLETED, P.RELEASING, P.RELEASED})
HOLDS_SLOT = frozenset({P.PENDING, P.COMPLETED, P.REFUNDING, P.RELEASING, P.RELEASED})


def sources(table: Mapping[tuple[S, E], S], event: E) -> list[str]:
    """The states ``event`` may leave (for a compare-and-set ``WHERE status IN (...)``)."""
    return sorted(state.value for (state, ev) in table if ev == event)


class PayoutStatus(StrEnum):
    REQUESTED = "requested"  # the hold reserves the amount on instructor:{id}:available
    COMPLETED = "completed"  # the hold is posted: the money left for world:payouts
    FAILED = "failed"  # the hold is voided: the amount is available again


PAYOUT_TRANSITIONS: dict[tuple[PayoutStatus, str], PayoutStatus] = {
    (PayoutStatus.REQUESTED, "complete"): PayoutStatus.COMPLETED,
    (PayoutStatus.REQUESTED, "fail"): PayoutStatus.FAILED,
}


@dataclass(frozen=True, slots=True)
class CourseDraft:
    """The fields an owner sets (validated by :func:`monetization.marketplace.text.course`)."""

    title: str
    description: str
    category: str
    level: Level
    language: str
    price: int
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    num: int  # the row's integer key (the SQLite full-text index's rowid)
    instructor_id: str
    title: str
    description: str
    category: str
    level: Level
    language: str
    price: int
    tags: tuple[str, ...]
    status: CourseStatus
    rating_sum: int
    rating_count: int
    rating_centi: int  # the average x 100, half-even; 0 with no rating
    purchase_count: int
    material_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    version: int = 1  # bumped by every change (compare-and-set)

    @property
    def free(self) -> bool:
        return self.price == 0


@dataclass(frozen=True, slots=True)
class Purchase:
    id: str
    course_id: str
    buyer_id: str
    instructor_id: str
    price: int
    instructor_share: int
    platform_share: int
    instructor_plan: str
    instructor_pct: int
    status: PurchaseStatus
    entry_id: str | None
    refund_entry_id: str | None
    release_entry_id: str | None
    created_at: datetime
    refundable_until: datetime
    refunded_at: datetime | None
    released_at: datetime | None

    @property
    def grants_access(self) -> bool:
        return self.status in GRANTS_ACCESS


@dataclass(frozen=True, slots=True)
class Sale:
    """What a purchase will record, decided before anything is charged."""

    split: Split
    refundable_until: datetime


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    course_id: str
    author_id: str
    rating: int
    text: str
    reply_text: str | None
    reply_author_id: str | None
    replied_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Payout:
    id: str
    instructor_id: str
    amount: int
    status: PayoutStatus
    hold_entry_id: str | None
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Material:
    id: str
    course_id: str
    sha256: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime
