"""Courses, purchases, earnings, payouts, reviews and materials: request and response shapes.

Prices and amounts are USD decimal strings in whole units (``"49.99"``; a course's price may
be ``"0"``: free). Text fields are checked by the domain too (NUL, lone surrogates: 422).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from api.ids import SlugField, UserIdField
from api.schemas.billing import PaymentMethod, usd
from api.schemas.common import AmountIn, AmountOut, Input
from monetization.marketplace import (
    Course,
    Earnings,
    Material,
    Payout,
    Purchase,
    PurchaseStatus,
    Review,
    Tally,
)

PriceIn = Annotated[
    StrictStr,
    Field(
        max_length=20,
        description='USD in whole units, "0" for a free course (at most 100000.00).',
        examples=["49.99"],
    ),
]
Title = Annotated[StrictStr, Field(min_length=1, max_length=200, examples=["Python from zero"])]
Description = Annotated[StrictStr, Field(max_length=20_000)]
LevelIn = Literal["beginner", "intermediate", "advanced"]
Language = Annotated[StrictStr, Field(max_length=35, examples=["en", "pt-BR"])]
Tags = Annotated[list[SlugField], Field(max_length=10, examples=[["python", "beginners"]])]
ReviewText = Annotated[StrictStr, Field(max_length=5000)]


PurchaseState = Literal["completed", "refunding", "refunded"]
PUBLIC_STATUS: dict[PurchaseStatus, PurchaseState] = {
    PurchaseStatus.REFUNDING: "refunding",
    PurchaseStatus.REFUNDED: "refunded",
}


def _rating(centi: int, count: int) -> str | None:
    return None if count == 0 else f"{centi // 100}.{centi % 100:02d}"


class CourseCreate(Input):
    title: Title
    description: Description = ""
    category: SlugField
    level: LevelIn
    language: Language
    price: PriceIn
    tags: Tags = Field(default_factory=list)
    instructor_id: UserIdField | None = Field(
        default=None, description="Required with an admin key; a user token creates its own."
    )


class CourseUpdate(Input):
    title: Title | None = None
    description: Description | None = None
    category: SlugField | None = None
    level: LevelIn | None = None
    language: Language | None = None
    price: PriceIn | None = None
    tags: Tags | None = None


class CoursePublic(BaseModel):
    id: str
    instructor_id: str
    title: str
    description: str
    category: str
    level: str
    language: str
    price: AmountOut
    currency: str = "USD"
    tags: list[str]
    status: Literal["draft", "published", "unpublished"]
    rating_average: str | None = Field(description="Average of the ratings, 2 decimals")
    rating_count: int
    purchase_count: int
    material_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def build(cls, c: Course) -> CoursePublic:
        return cls(
            id=c.id,
            instructor_id=c.instructor_id,
            title=c.title,
            description=c.description,
            category=c.category,
            level=c.level.value,
            language=c.language,
            price=usd(c.price),
            tags=list(c.tags),
            status=c.status.value,
            rating_average=_rating(c.rating_centi, c.rating_count),
            rating_count=c.rating_count,
            purchase_count=c.purchase_count,
            material_count=c.material_count,
            created_at=c.created_at,
            updated_at=c.updated_at,
            published_at=c.published_at,
        )


class CoursePage(BaseModel):
    data: list[CoursePublic]
    next_cursor: str | None


class PurchaseCreate(Input):
    payment_method: PaymentMethod | None = Field(
        default=None, description="Needed for a paid course."
    )
    buyer_id: UserIdField | None = Field(
        default=None, description="Required with an admin key; a user token buys for itself."
    )


class PurchasePublic(BaseModel):
    id: str
    course_id: str
    buyer_id: str
    price: AmountOut
    instructor_share: AmountOut
    platform_share: AmountOut
    instructor_plan: str
    split: str = Field(examples=["70/30"])
    entry_id: str | None = Field(description="The marketplace.sale entry; null: free course")
    status: PurchaseState
    released: bool = Field(description="The instructor's share moved to available")
    refundable_until: datetime
    created_at: datetime
    refunded_at: datetime | None
    refund_entry_id: str | None

    @classmethod
    def build(cls, p: Purchase) -> PurchasePublic:
        status = PUBLIC_STATUS.get(p.status, "completed")
        return cls(
            id=p.id,
            course_id=p.course_id,
            buyer_id=p.buyer_id,
            price=usd(p.price),
            instructor_share=usd(p.instructor_share),
            platform_share=usd(p.platform_share),
            instructor_plan=p.instructor_plan,
            split=f"{p.instructor_pct}/{100 - p.instructor_pct}",
            entry_id=p.entry_id,
            status=status or "completed",
            released=p.released_at is not None,
            refundable_until=p.refundable_until,
            created_at=p.created_at,
            refunded_at=p.refunded_at,
            refund_entry_id=p.refund_entry_id,
        )


class RefundBody(Input):
    after_window: StrictBool = Field(
        default=False,
        description="Admins only: refund past the window (the instructor's share is taken back "
        "from available, the rest becomes a receivable).",
    )


class LibraryItem(BaseModel):
    purchase_id: str
    purchased_at: datetime
    course: CoursePublic


class LibraryPage(BaseModel):
    data: list[LibraryItem]
    next_cursor: str | None


class AccessPublic(BaseModel):
    course_id: str
    user_id: str
    access: bool


class TallyPublic(BaseModel):
    sales: int
    refunds: int
    gross: AmountOut
    earned: AmountOut
    pending: AmountOut
    released: AmountOut

    @classmethod
    def fields(cls, t: Tally) -> dict[str, Any]:
        return {
            "sales": t.sales,
            "refunds": t.refunds,
            "gross": usd(t.gross),
            "earned": usd(t.earned),
            "pending": usd(t.pending),
            "released": usd(t.released),
        }


class CourseEarnings(TallyPublic):
    course_id: str
    title: str


class MonthEarnings(TallyPublic):
    month: str = Field(examples=["2030-06"])
    paid_out: AmountOut


class EarningsPublic(BaseModel):
    instructor_id: str
    currency: str = "USD"
    pending: AmountOut
    available: AmountOut
    payout_pending: AmountOut
    paid_out: AmountOut
    receivable: AmountOut = Field(description="Owed after a refund past the window")
    lifetime: AmountOut
    by_course: list[CourseEarnings]
    by_month: list[MonthEarnings]

    @classmethod
    def build(cls, e: Earnings) -> EarningsPublic:
        return cls(
            instructor_id=e.instructor_id,
            pending=usd(e.pending),
            available=usd(e.available),
            payout_pending=usd(e.payout_pending),
            paid_out=usd(e.paid_out),
            receivable=usd(e.receivable),
            lifetime=usd(e.lifetime),
            by_course=[
                CourseEarnings(course_id=cid, title=title, **TallyPublic.fields(t))
                for cid, title, t in e.by_course
            ],
            by_month=[
                MonthEarnings(month=m, paid_out=usd(t.paid_out), **TallyPublic.fields(t))
                for m, t in e.by_month
            ],
        )


class PayoutCreate(Input):
    amount: AmountIn


class PayoutPublic(BaseModel):
    id: str
    instructor_id: str
    amount: AmountOut
    status: Literal["requested", "completed", "failed"]
    hold_entry_id: str | None
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def build(cls, p: Payout) -> PayoutPublic:
        return cls(
            id=p.id,
            instructor_id=p.instructor_id,
            amount=usd(p.amount),
            status=p.status.value,
            hold_entry_id=p.hold_entry_id,
            created_at=p.created_at,
            resolved_at=p.resolved_at,
        )


class PayoutPage(BaseModel):
    data: list[PayoutPublic]
    next_cursor: str | None


class ReviewCreate(Input):
    rating: Annotated[StrictInt, Field(ge=1, le=5)]
    text: ReviewText = ""
    author_id: UserIdField | None = Field(
        default=None, description="Required with an admin key; a user token reviews as itself."
    )


class ReviewUpdate(Input):
    rating: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    text: ReviewText | None = None


class ReplyBody(Input):
    text: Annotated[StrictStr, Field(min_length=1, max_length=5000)]


class ReplyPublic(BaseModel):
    text: str
    author_id: str
    at: datetime


class ReviewPublic(BaseModel):
    id: str
    course_id: str
    author_id: str
    rating: int
    text: str
    created_at: datetime
    updated_at: datetime
    reply: ReplyPublic | None

    @classmethod
    def build(cls, r: Review) -> ReviewPublic:
        reply = None
        if r.reply_text is not None and r.reply_author_id and r.replied_at:
            reply = ReplyPublic(text=r.reply_text, author_id=r.reply_author_id, at=r.replied_at)
        return cls(
            id=r.id,
            course_id=r.course_id,
            author_id=r.author_id,
            rating=r.rating,
            text=r.text,
            created_at=r.created_at,
            updated_at=r.updated_at,
            reply=reply,
        )


class ReviewPage(BaseModel):
    data: list[ReviewPublic]
    next_cursor: str | None


class MaterialPublic(BaseModel):
    id: str
    course_id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime

    @classmethod
    def build(cls, m: Material) -> MaterialPublic:
        return cls(
            id=m.id,
            course_id=m.course_id,
            filename=m.filename,
            content_type=m.content_type,
            size_bytes=m.size_bytes,
            sha256=m.sha256,
            created_at=m.created_at,
        )


class MaterialList(BaseModel):
    data: list[MaterialPublic]
