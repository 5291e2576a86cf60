"""``/v1/courses/{id}/reviews``: buyers review (one each), authors edit, instructors reply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api import policy
from api.deps import CurrentPrincipal
from api.ids import CoursePath, ReviewPath, UuidCursor
from api.routers.marketdeps import MarketDep, MaybePrincipal, next_cursor
from api.schemas.common import PROTECTED, problems
from api.schemas.marketplace import ReplyBody, ReviewCreate, ReviewPage, ReviewPublic, ReviewUpdate
from monetization.marketplace.model import CourseStatus

router = APIRouter(
    prefix="/v1/courses/{course_id}/reviews", tags=["marketplace"], responses=PROTECTED
)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(403, 404, 409))
def create_review(
    course_id: CoursePath, body: ReviewCreate, market: MarketDep, principal: CurrentPrincipal
) -> ReviewPublic:
    """A rating 1-5 and a text, by a buyer whose purchase stands (403 `not-a-buyer`), one
    per buyer (409 `already-reviewed`). The course's average and count move with it."""
    author = policy.acting_user(principal, body.author_id, "author_id")
    course = market.courses.get(course_id)
    return ReviewPublic.build(market.reviews.create(course, author, body.rating, body.text))


@router.get("", responses=problems(404))
def list_reviews(
    course_id: CoursePath,
    market: MarketDep,
    principal: MaybePrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: UuidCursor = None,
) -> ReviewPage:
    """The course's reviews, newest first."""
    course = market.courses.get(course_id)
    published = course.status is CourseStatus.PUBLISHED
    policy.require_course_visible(principal, course.instructor_id, published)
    found = market.reviews.list(course_id, limit=limit + 1, before=cursor)
    return ReviewPage(
        data=[ReviewPublic.build(r) for r in found[:limit]],
        next_cursor=next_cursor([r.id for r in found], limit),
    )


@router.patch("/{review_id}", responses=problems(404))
def edit_review(
    course_id: CoursePath,
    review_id: ReviewPath,
    body: ReviewUpdate,
    market: MarketDep,
    principal: CurrentPrincipal,
) -> ReviewPublic:
    """Its author (or an admin) changes the rating or the text."""
    review = market.reviews.get(course_id, review_id)
    policy.require_review_author(principal, review.author_id)
    return ReviewPublic.build(
        market.reviews.edit(course_id, review_id, rating=body.rating, text=body.text)
    )


@router.post("/{review_id}/reply", responses=problems(404))
def reply_to_review(
    course_id: CoursePath,
    review_id: ReviewPath,
    body: ReplyBody,
    market: MarketDep,
    principal: CurrentPrincipal,
) -> ReviewPublic:
    """The course's instructor (or an admin) answers; a second reply replaces the first."""
    course = market.courses.get(course_id)
    policy.require_course_reply(principal, course.instructor_id)
    market.reviews.get(course_id, review_id)
    replier = course.instructor_id if principal.is_user else principal.name
    return ReviewPublic.build(market.reviews.reply(course_id, review_id, replier, body.text))
