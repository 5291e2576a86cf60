"""What every part of the marketplace shares: write transactions, rows to values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from ledger import WRITE_TXN
from monetization.marketplace.model import (
    Course,
    CourseStatus,
    Level,
    Material,
    Payout,
    PayoutStatus,
    Purchase,
    PurchaseStatus,
    Review,
)


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction (on SQLite the write lock is taken at BEGIN, so two writers queue
    instead of failing half-way)."""
    with engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
        yield conn


def course_from_row(row: Any) -> Course:
    return Course(
        id=row.id,
        num=int(row.num),
        instructor_id=row.instructor_id,
        title=row.title,
        description=row.description,
        category=row.category,
        level=Level(row.level),
        language=row.language,
        price=int(row.price_cents),
        tags=tuple(row.tags),
        status=CourseStatus(row.status),
        rating_sum=int(row.rating_sum),
        rating_count=int(row.rating_count),
        rating_centi=int(row.rating_centi),
        purchase_count=int(row.purchase_count),
        material_count=int(row.material_count),
        created_at=row.created_at,
        updated_at=row.updated_at,
        published_at=row.published_at,
        version=int(row.version),
    )


def purchase_from_row(row: Any) -> Purchase:
    return Purchase(
        id=row.id,
        course_id=row.course_id,
        buyer_id=row.buyer_id,
        instructor_id=row.instructor_id,
        price=int(row.price_cents),
        instructor_share=int(row.instructor_share_cents),
        platform_share=int(row.platform_share_cents),
        instructor_plan=row.instructor_plan,
        instructor_pct=int(row.instructor_pct),
        status=PurchaseStatus(row.status),
        entry_id=row.entry_id,
        refund_entry_id=row.refund_entry_id,
        release_entry_id=row.release_entry_id,
        created_at=row.created_at,
        refundable_until=row.refundable_until,
        refunded_at=row.refunded_at,
        released_at=row.released_at,
    )


def review_from_row(row: Any) -> Review:
    return Review(
        id=row.id,
        course_id=row.course_id,
        author_id=row.author_id,
        rating=int(row.rating),
        text=row.text,
        reply_text=row.reply_text,
        reply_author_id=row.reply_author_id,
        replied_at=row.replied_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def payout_from_row(row: Any) -> Payout:
    return Payout(
        id=row.id,
        instructor_id=row.instructor_id,
        amount=int(row.amount_cents),
        status=PayoutStatus(row.status),
        hold_entry_id=row.hold_entry_id,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
    )


def material_from_row(row: Any) -> Material:
    return Material(
        id=row.id,
        course_id=row.course_id,
        sha256=row.sha256,
        filename=row.filename,
        content_type=row.content_type,
        size_bytes=int(row.size_bytes),
        created_at=row.created_at,
    )
