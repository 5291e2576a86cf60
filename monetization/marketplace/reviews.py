"""Reviews and ratings: buyers only, one per buyer, editable by the author, replied to by
the instructor. The course's rating sum, count and average move in the same transaction
as the review, so they never disagree with the reviews (DESIGN §12).

Review texts are personal data: they live here only, never in the ledger, and
:meth:`Reviews.erase_author` blanks them for a user's erasure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from monetization.ids import UUID_RE
from monetization.marketplace.errors import (
    AlreadyReviewed,
    CourseNotFound,
    InvalidCourse,
    InvalidReview,
    NotABuyer,
)
from monetization.marketplace.model import Course, Review
from monetization.marketplace.purchases import Purchases
from monetization.marketplace.split import round_half_even
from monetization.marketplace.store import begin_write, review_from_row
from monetization.marketplace.tables import market_courses, market_reviews
from monetization.marketplace.text import check_text

R = market_reviews
C = market_courses
TEXT_MAX_CHARS = 5000
LIST_MAX = 100


def check_review_id(review_id: object) -> str:
    if not isinstance(review_id, str) or not UUID_RE.fullmatch(review_id):
        raise CourseNotFound("no such review")
    return review_id


def check_rating(rating: object) -> int:
    if type(rating) is not int or not 1 <= rating <= 5:
        raise InvalidReview("rating is an integer 1-5")
    return rating


def review_text(value: object, what: str = "text") -> str:
    try:
        return check_text(value, what, TEXT_MAX_CHARS)
    except InvalidCourse as error:
        raise InvalidReview(error.detail) from None


def average_centi(total: int, count: int) -> int:
    """The average rating x 100, half-even (0 with no rating)."""
    return 0 if count == 0 else round_half_even(100 * total, count)


class Reviews:
    def __init__(self, engine: Engine, purchases: Purchases, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.purchases = purchases
        self.clock = clock

    def create(self, course: Course, author_id: str, rating: int, text: str) -> Review:
        check_rating(rating)
        text = review_text(text)
        found = self.purchases.active(course.id, author_id)
        if found is None or not found.grants_access:
            raise NotABuyer("only buyers of a course review it")
        now = self.clock()
        review_id = str(uuid.uuid4())
        try:
            with begin_write(self.engine) as conn:
                conn.execute(
                    R.insert().values(
                        id=review_id,
                        course_id=course.id,
                        author_id=author_id,
                        rating=rating,
                        text=text,
                        created_at=now,
                        updated_at=now,
                    )
                )
                _rate(conn, course.id, rating, 1)
        except IntegrityError:
            raise AlreadyReviewed("one review per buyer: edit yours instead") from None
        return self.get(course.id, review_id)

    def edit(
        self, course_id: str, review_id: str, *, rating: int | None, text: str | None
    ) -> Review:
        if rating is not None:
            check_rating(rating)
        if text is not None:
            text = review_text(text)
        with begin_write(self.engine) as conn:
            row = _locked(conn, course_id, review_id)
            values: dict[str, Any] = {"updated_at": self.clock()}
            if text is not None:
                values["text"] = text
            if rating is not None:
                values["rating"] = rating
                _rate(conn, course_id, rating - int(row.rating), 0)
            conn.execute(update(R).where(R.c.id == review_id).values(**values))
        return self.get(course_id, review_id)

    def reply(self, course_id: str, review_id: str, author_id: str, text: str) -> Review:
        text = review_text(text, "reply")
        with begin_write(self.engine) as conn:
            _locked(conn, course_id, review_id)
            conn.execute(
                update(R)
                .where(R.c.id == review_id)
                .values(reply_text=text, reply_author_id=author_id, replied_at=self.clock())
            )
        return self.get(course_id, review_id)

    def get(self, course_id: str, review_id: str) -> Review:
        check_review_id(review_id)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(R).where(R.c.id == review_id, R.c.course_id == course_id)
            ).first()
        if row is None:
            raise CourseNotFound(f"review {review_id} does not exist")
        return review_from_row(row)

    def list(self, course_id: str, *, limit: int, before: str | None = None) -> list[Review]:
        """Newest first; ``before`` is the id of the last review of the previous page."""
        assert 1 <= limit <= LIST_MAX
        stmt = select(R).where(R.c.course_id == course_id)
        with self.engine.connect() as conn:
            if before is not None:
                anchor = conn.execute(
                    select(R.c.created_at, R.c.id).where(
                        R.c.id == check_review_id(before), R.c.course_id == course_id
                    )
                ).first()
                if anchor is None:
                    raise CourseNotFound("the cursor names no review of this course")
                stmt = stmt.where(
                    or_(
                        R.c.created_at < anchor.created_at,
                        and_(R.c.created_at == anchor.created_at, R.c.id < anchor.id),
                    )
                )
            rows = conn.execute(stmt.order_by(R.c.created_at.desc(), R.c.id.desc()).limit(limit))
            return [review_from_row(r) for r in rows]

    def erase_author(self, author_id: str) -> int:
        """Blank the texts a user wrote (their ratings stay, anonymous). Returns how many."""
        with begin_write(self.engine) as conn:
            return conn.execute(
                update(R).where(R.c.author_id == author_id).values(text="", updated_at=self.clock())
            ).rowcount


def _locked(conn: Connection, course_id: str, review_id: str) -> Any:
    check_review_id(review_id)
    row = conn.execute(
        select(R).where(R.c.id == review_id, R.c.course_id == course_id).with_for_update()
    ).first()
    if row is None:
        raise CourseNotFound(f"review {review_id} does not exist")
    return row


def _rate(conn: Connection, course_id: str, delta_sum: int, delta_count: int) -> None:
    """Move the course's rating sum and count, then its average from what they became (the
    first UPDATE holds the row, so the second reads this transaction's own values)."""
    total, count = conn.execute(
        update(C)
        .where(C.c.id == course_id)
        .values(rating_sum=C.c.rating_sum + delta_sum, rating_count=C.c.rating_count + delta_count)
        .returning(C.c.rating_sum, C.c.rating_count)
    ).one()
    conn.execute(
        update(C)
        .where(C.c.id == course_id)
        .values(rating_centi=average_centi(int(total), int(count)))
    )
