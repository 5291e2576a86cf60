"""Courses: created as drafts by their instructor, edited, published and unpublished.

Who may do this is the access policy's question (``api/policy.py``: the owner, or an admin);
here are the rules of the course itself. Publishing a paid course needs the feature
``paid_course_publishing`` (pro and enterprise); the number of published courses is bounded
by the feature ``published_courses``, counted race-free in ``market_instructors``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ledger import USD, format_amount
from monetization.billing import FeatureValue, Plan
from monetization.ids import UUID_RE
from monetization.marketplace.errors import (
    CourseNotFound,
    CourseStateConflict,
    InvalidCourse,
    PlanRequired,
    PublishLimitReached,
)
from monetization.marketplace.model import (
    COURSE_TRANSITIONS,
    Course,
    CourseDraft,
    CourseEvent,
    CourseStatus,
)
from monetization.marketplace.store import begin_write, course_from_row
from monetization.marketplace.tables import (
    COURSE_COLUMNS,
    market_course_tags,
    market_courses,
    market_instructors,
)
from monetization.marketplace.text import course_draft, document, words

C = market_courses
I = market_instructors  # noqa: E741
PAID_PUBLISHING = "paid_course_publishing"
PUBLISHED_LIMIT = "published_courses"
EDITABLE = ("title", "description", "category", "level", "language", "price", "tags")
LIST_MAX = 500


class InstructorPlans(Protocol):
    """What the marketplace asks the subscriptions domain (``monetization.billing.Billing``)."""

    def plan_of(self, user_id: str) -> Plan: ...

    def feature(self, user_id: str, key: str) -> FeatureValue: ...


def check_course_id(course_id: object) -> str:
    if not isinstance(course_id, str) or not UUID_RE.fullmatch(course_id):
        raise CourseNotFound("no such course")
    return course_id


def _values(draft: CourseDraft) -> dict[str, Any]:
    return {
        "title": draft.title,
        "description": draft.description,
        "category": draft.category,
        "level": draft.level.value,
        "language": draft.language,
        "price_cents": draft.price,
        "tags": list(draft.tags),
        "search_tokens": document([draft.title, draft.description, *draft.tags]),
        "title_tokens": " ".join(dict.fromkeys(words(draft.title))),
    }


def _draft_of(course: Course) -> dict[str, Any]:
    return {
        "title": course.title,
        "description": course.description,
        "category": course.category,
        "level": course.level.value,
        "language": course.language,
        "price": _price_text(course.price),
        "tags": list(course.tags),
    }


def _price_text(cents: int) -> str:
    return "0" if cents == 0 else format_amount(cents, USD)


class Courses:
    def __init__(
        self, engine: Engine, plans: InstructorPlans, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.plans = plans
        self.clock = clock

    def create(self, instructor_id: str, draft: CourseDraft) -> Course:
        now = self.clock()
        course_id = str(uuid.uuid4())
        with begin_write(self.engine) as conn:
            num = conn.execute(
                insert(C)
                .values(
                    id=course_id,
                    instructor_id=instructor_id,
                    status=CourseStatus.DRAFT.value,
                    rating_sum=0,
                    rating_count=0,
                    rating_centi=0,
                    purchase_count=0,
                    material_count=0,
                    created_at=now,
                    updated_at=now,
                    published_at=None,
                    version=1,
                    **_values(draft),
                )
                .returning(C.c.num)
            ).scalar_one()
            _set_tags(conn, int(num), draft.tags)
        return self.get(course_id)

    def get(self, course_id: str) -> Course:
        check_course_id(course_id)
        with self.engine.connect() as conn:
            row = conn.execute(select(*COURSE_COLUMNS).where(C.c.id == course_id)).first()
        if row is None:
            raise CourseNotFound(f"course {course_id} does not exist")
        return course_from_row(row)

    def by_ids(self, conn: Connection, ids: list[str]) -> dict[str, Course]:
        rows = conn.execute(select(*COURSE_COLUMNS).where(C.c.id.in_(ids))).all() if ids else []
        return {r.id: course_from_row(r) for r in rows}

    def of_instructor(
        self, instructor_id: str, *, limit: int, before: str | None = None
    ) -> list[Course]:
        """The instructor's courses in every state, newest first (``before``: a course id)."""
        assert 1 <= limit <= LIST_MAX
        stmt = select(*COURSE_COLUMNS).where(C.c.instructor_id == instructor_id)
        with self.engine.connect() as conn:
            if before is not None:
                anchor = conn.execute(
                    select(C.c.created_at, C.c.num).where(
                        C.c.id == check_course_id(before), C.c.instructor_id == instructor_id
                    )
                ).first()
                if anchor is None:
                    raise CourseNotFound("the cursor names no course of this instructor")
                stmt = stmt.where(
                    or_(
                        C.c.created_at < anchor.created_at,
                        and_(C.c.created_at == anchor.created_at, C.c.num < anchor.num),
                    )
                )
            rows = conn.execute(stmt.order_by(C.c.created_at.desc(), C.c.num.desc()).limit(limit))
            return [course_from_row(r) for r in rows]

    def edit(self, course_id: str, changes: Mapping[str, object]) -> Course:
        """Change some fields (the rest stay). A published course that becomes paid needs
        the instructor's plan to allow paid publishing, as publishing it would."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise InvalidCourse(f"cannot change {', '.join(sorted(unknown))}")
        course = self.get(course_id)
        draft = course_draft(**{**_draft_of(course), **changes})
        if course.status is CourseStatus.PUBLISHED and draft.price > 0 and course.price == 0:
            self._require_paid_publishing(course.instructor_id)
        with begin_write(self.engine) as conn:
            done = conn.execute(
                update(C)
                .where(C.c.id == course_id, C.c.version == course.version)
                .values(updated_at=self.clock(), version=C.c.version + 1, **_values(draft))
            ).rowcount
            if done != 1:
                raise CourseStateConflict("the course changed meanwhile: send the edit again")
            tags = market_course_tags
            conn.execute(delete(tags).where(tags.c.course_num == course.num))
            _set_tags(conn, course.num, draft.tags)
        return self.get(course_id)

    def publish(self, course_id: str) -> Course:
        """List the course (a repeat answers the current state)."""
        return self._transition(course_id, CourseEvent.PUBLISH)

    def unpublish(self, course_id: str) -> Course:
        """Take it off the list; buyers keep their access."""
        return self._transition(course_id, CourseEvent.UNPUBLISH)

    def _transition(self, course_id: str, event: CourseEvent) -> Course:
        course = self.get(course_id)
        target = COURSE_TRANSITIONS.get((course.status, event))
        if target is None:
            return course  # a repeat (or unpublishing a draft): nothing to do
        limit: FeatureValue = None
        if event is CourseEvent.PUBLISH:
            if course.price > 0:
                self._require_paid_publishing(course.instructor_id)
            limit = self.plans.feature(course.instructor_id, PUBLISHED_LIMIT)
        now = self.clock()
        with begin_write(self.engine) as conn:
            step = 1 if event is CourseEvent.PUBLISH else -1
            if not _count_published(conn, course.instructor_id, step, limit):
                raise PublishLimitReached(
                    f"the instructor's plan allows {limit} published course(s): unpublish "
                    "one or upgrade the plan"
                )
            values: dict[str, Any] = {
                "status": target.value,
                "updated_at": now,
                "version": C.c.version + 1,
            }
            if target is CourseStatus.PUBLISHED:
                values["published_at"] = now
            done = conn.execute(
                update(C).where(C.c.id == course_id, C.c.version == course.version).values(**values)
            ).rowcount
            if done != 1:
                conn.rollback()
                return self._transition(course_id, event)  # someone else changed it: again
        return self.get(course_id)

    def _require_paid_publishing(self, instructor_id: str) -> None:
        if not self.plans.feature(instructor_id, PAID_PUBLISHING):
            raise PlanRequired(
                "publishing a paid course needs the instructor on the pro or enterprise plan"
            )

    def set_counts(self, conn: Connection, course_id: str, *, purchases: int = 0) -> None:
        """Move the course's purchase count by ``purchases`` (in the caller's transaction)."""
        conn.execute(
            update(C)
            .where(C.c.id == course_id)
            .values(purchase_count=C.c.purchase_count + purchases)
        )


def _count_published(conn: Connection, user_id: str, step: int, limit: FeatureValue) -> bool:
    """Move the instructor's published count by ``step`` unless that passes ``limit``
    (an int; None: unlimited). A compare-and-set: two publishes at once cannot both pass."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(I).values(user_id=user_id, published_count=0).on_conflict_do_nothing()
    )
    stmt = update(I).where(I.c.user_id == user_id)
    if step > 0 and isinstance(limit, int) and not isinstance(limit, bool):
        stmt = stmt.where(I.c.published_count < limit)
    if step < 0:
        stmt = stmt.where(I.c.published_count > 0)
    done = conn.execute(stmt.values(published_count=I.c.published_count + step)).rowcount
    return done == 1 or step < 0


def _set_tags(conn: Connection, num: int, tags: tuple[str, ...]) -> None:
    if tags:
        conn.execute(insert(market_course_tags), [{"tag": t, "course_num": num} for t in tags])
