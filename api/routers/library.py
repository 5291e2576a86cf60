"""``/v1/users/{user_id}/library``: the courses a user bought and still has."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import policy
from api.deps import Reader
from api.ids import UserPath, UuidCursor
from api.routers.marketdeps import MarketDep, next_cursor
from api.schemas.common import PROTECTED, problems
from api.schemas.marketplace import CoursePublic, LibraryItem, LibraryPage

router = APIRouter(prefix="/v1/users/{user_id}/library", tags=["marketplace"], responses=PROTECTED)


@router.get("", responses=problems(404))
def library(
    user_id: UserPath,
    market: MarketDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: UuidCursor = None,
) -> LibraryPage:
    """The user's courses (paid and not refunded, or free), the latest purchase first."""
    policy.require_user_read(principal, user_id)
    found = market.purchases.library(user_id, limit=limit + 1, before=cursor)
    items = [
        LibraryItem(purchase_id=p.id, purchased_at=p.created_at, course=CoursePublic.build(c))
        for p, c in found[:limit]
    ]
    return LibraryPage(data=items, next_cursor=next_cursor([p.id for p, _ in found], limit))
