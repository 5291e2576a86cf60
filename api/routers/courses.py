"""``/v1/courses``: search (public), one course (public when published), create, edit,
publish, unpublish (the owner or an admin), and whether a user has access."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.concurrency import run_in_threadpool

from api import policy
from api.deps import CurrentPrincipal
from api.errors import ApiProblem
from api.ids import SLUG, USER_ID, CoursePath, UserQuery
from api.routers.marketdeps import MarketDep, MaybePrincipal
from api.schemas.common import PROTECTED, problems
from api.schemas.marketplace import (
    AccessPublic,
    CourseCreate,
    CoursePage,
    CoursePublic,
    CourseUpdate,
)
from monetization.marketplace import Level, SearchQuery, Sort, course_draft
from monetization.marketplace.search import CURSOR_MAX_CHARS, SEARCH_LIMIT_MAX
from monetization.marketplace.text import parse_price

public = APIRouter(prefix="/v1/courses", tags=["marketplace"])
router = APIRouter(prefix="/v1/courses", tags=["marketplace"], responses=PROTECTED)

Slug = Annotated[str | None, Query(pattern=SLUG, max_length=64)]
PriceQuery = Annotated[
    str | None, Query(max_length=20, pattern=r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$")
]


def _price(text: str | None) -> int | None:
    return None if text is None else parse_price(text)


def _rating(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ApiProblem("invalid-request", "min_rating is a number 0-5") from None
    if not 0 <= value <= 5 or value != value.quantize(Decimal("0.01")):
        raise ApiProblem("invalid-request", "min_rating is 0-5 with at most 2 decimals")
    return int(value * 100)


@public.get("", responses=problems(422))
def search_courses(  # one parameter per filter of DESIGN §12
    *,
    market: MarketDep,
    q: Annotated[str | None, Query(max_length=200, description="Every word must occur")] = None,
    category: Slug = None,
    level: Level | None = None,
    language: Annotated[
        str | None, Query(max_length=35, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")
    ] = None,
    instructor_id: Annotated[str | None, Query(pattern=USER_ID, max_length=64)] = None,
    tag: Slug = None,
    min_price: PriceQuery = None,
    max_price: PriceQuery = None,
    free: bool | None = None,
    min_rating: Annotated[
        str | None, Query(max_length=4, pattern=r"^[0-5](\.[0-9]{1,2})?$")
    ] = None,
    sort: Sort | None = None,
    limit: Annotated[int, Query(ge=1, le=SEARCH_LIMIT_MAX)] = 20,
    cursor: Annotated[str | None, Query(max_length=CURSOR_MAX_CHARS)] = None,
) -> CoursePage:
    """Published courses: full-text `q` (every word must occur; words are letters and
    digits, case-insensitive), filters, and a sort (`relevance` with `q`: the query words in
    the title first, then the most bought; otherwise `newest`). Keyset pages: pass
    `next_cursor` back with the same query."""
    query = SearchQuery(
        q=q,
        category=category,
        level=level,
        language=language,
        instructor_id=instructor_id,
        tag=tag,
        min_price=_price(min_price),
        max_price=_price(max_price),
        free=free,
        min_rating_centi=_rating(min_rating),
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    page = market.search.search(query)
    return CoursePage(data=[CoursePublic.build(c) for c in page.data], next_cursor=page.next_cursor)


@public.get("/{course_id}", responses=problems(401, 404))
def get_course(course_id: CoursePath, market: MarketDep, principal: MaybePrincipal) -> CoursePublic:
    """One course; a draft or unpublished one only for its owner (and ledger:read keys)."""
    course = market.courses.get(course_id)
    policy.require_course_visible(
        principal, course.instructor_id, course.status.value == "published"
    )
    return CoursePublic.build(course)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(404))
def create_course(
    body: CourseCreate, market: MarketDep, principal: CurrentPrincipal
) -> CoursePublic:
    """A draft course of the caller (a user token), or of `instructor_id` (an admin key)."""
    instructor = policy.acting_user(principal, body.instructor_id, "instructor_id")
    draft = course_draft(
        title=body.title,
        description=body.description,
        category=body.category,
        level=body.level,
        language=body.language,
        price=body.price,
        tags=body.tags,
    )
    return CoursePublic.build(market.courses.create(instructor, draft))


@router.patch("/{course_id}", responses=problems(404, 409))
def edit_course(
    course_id: CoursePath, body: CourseUpdate, market: MarketDep, principal: CurrentPrincipal
) -> CoursePublic:
    """Change some fields (the owner or an admin). Making a published course paid needs
    the plan a paid publication needs (409 `plan-required`)."""
    course = market.courses.get(course_id)
    policy.require_course_owner(principal, course.instructor_id)
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise ApiProblem("invalid-request", "a field sent must have a value (omit it instead)")
    return CoursePublic.build(market.courses.edit(course_id, changes))


@router.post("/{course_id}/publish", responses=problems(404, 409))
def publish_course(
    course_id: CoursePath, market: MarketDep, principal: CurrentPrincipal
) -> CoursePublic:
    """List it. A paid course needs the instructor on pro or enterprise (409
    `plan-required`); the plan bounds the published courses (409 `publish-limit-reached`).
    A repeat answers the current state."""
    course = market.courses.get(course_id)
    policy.require_course_owner(principal, course.instructor_id)
    return CoursePublic.build(market.courses.publish(course_id))


@router.post("/{course_id}/unpublish", responses=problems(404, 409))
def unpublish_course(
    course_id: CoursePath, market: MarketDep, principal: CurrentPrincipal
) -> CoursePublic:
    """Take it off the list (buyers keep access). A repeat answers the current state."""
    course = market.courses.get(course_id)
    policy.require_course_owner(principal, course.instructor_id)
    return CoursePublic.build(market.courses.unpublish(course_id))


@router.get("/{course_id}/access", responses=problems(404))
async def course_access(
    course_id: CoursePath, market: MarketDep, principal: CurrentPrincipal, user_id: UserQuery = None
) -> AccessPublic:
    """Whether the user may open the course's materials: its owner, or a buyer whose
    purchase is not refunded."""
    course = await run_in_threadpool(market.courses.get, course_id)
    subject = policy.access_subject(principal, user_id, course.instructor_id)
    access = await run_in_threadpool(market.purchases.has_access, subject, course)
    return AccessPublic(course_id=course.id, user_id=subject, access=access)
