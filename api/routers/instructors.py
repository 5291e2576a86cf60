"""``/v1/instructors/{user_id}/…``: the instructor's courses, earnings and payouts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from api import policy
from api.deps import Admin, CurrentPrincipal, IdempotencyKey, Reader
from api.ids import REPLAYED_HEADER, PayoutPath, UserPath, UuidCursor
from api.routers.marketdeps import MarketDep, next_cursor
from api.schemas.common import PROTECTED, problems
from api.schemas.marketplace import (
    CoursePage,
    CoursePublic,
    EarningsPublic,
    PayoutCreate,
    PayoutPage,
    PayoutPublic,
)
from ledger import USD, parse_amount

router = APIRouter(prefix="/v1/instructors/{user_id}", tags=["marketplace"], responses=PROTECTED)
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/courses", responses=problems(404))
def instructor_courses(
    user_id: UserPath,
    market: MarketDep,
    principal: Reader,
    limit: Limit = 50,
    cursor: UuidCursor = None,
) -> CoursePage:
    """Every course of the instructor, drafts included, the newest first."""
    policy.require_instructor_read(principal, user_id)
    found = market.courses.of_instructor(user_id, limit=limit + 1, before=cursor)
    return CoursePage(
        data=[CoursePublic.build(c) for c in found[:limit]],
        next_cursor=next_cursor([c.id for c in found], limit),
    )


@router.get("/earnings", responses=problems(404))
def earnings(user_id: UserPath, market: MarketDep, principal: Reader) -> EarningsPublic:
    """Pending (inside refund windows) vs available vs paid out, with what open payouts
    reserve and any receivable; by course and by UTC month."""
    policy.require_instructor_read(principal, user_id)
    return EarningsPublic.build(market.earnings.of(user_id))


@router.post(
    "/payouts",
    status_code=status.HTTP_201_CREATED,
    response_model=PayoutPublic,
    responses=problems(404, 409),
)
def request_payout(
    user_id: UserPath,
    principal: CurrentPrincipal,
    body: PayoutCreate,
    key: IdempotencyKey,
    market: MarketDep,
) -> JSONResponse:
    """Ask for `amount` of the available balance (the instructor or an admin): a hold from
    `instructor:{id}:available` to `world:payouts` until an admin completes or fails it. 409
    `insufficient-funds` past what is available."""
    policy.require_instructor_act(principal, user_id)
    amount = parse_amount(body.amount, USD)
    payout, replayed = market.payouts.request(user_id, amount, principal=principal.name, key=key)
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    payload = PayoutPublic.build(payout).model_dump(mode="json")
    return JSONResponse(payload, status.HTTP_201_CREATED, headers=headers)


@router.get("/payouts", responses=problems(404))
def list_payouts(
    user_id: UserPath,
    market: MarketDep,
    principal: Reader,
    limit: Limit = 50,
    cursor: UuidCursor = None,
) -> PayoutPage:
    policy.require_instructor_read(principal, user_id)
    found = market.payouts.list(user_id, limit=limit + 1, before=cursor)
    return PayoutPage(
        data=[PayoutPublic.build(p) for p in found[:limit]],
        next_cursor=next_cursor([p.id for p in found], limit),
    )


@router.get("/payouts/{payout_id}", responses=problems(404))
def get_payout(
    user_id: UserPath, payout_id: PayoutPath, market: MarketDep, principal: Reader
) -> PayoutPublic:
    policy.require_instructor_read(principal, user_id)
    return PayoutPublic.build(market.payouts.get(user_id, payout_id))


@router.post("/payouts/{payout_id}/complete", responses=problems(403, 404, 409))
def complete_payout(
    user_id: UserPath, payout_id: PayoutPath, market: MarketDep, _p: Admin
) -> PayoutPublic:
    """The money was sent (admin): the hold is posted. A repeat answers the state."""
    return PayoutPublic.build(market.payouts.resolve(user_id, payout_id, "complete"))


@router.post("/payouts/{payout_id}/fail", responses=problems(403, 404, 409))
def fail_payout(
    user_id: UserPath, payout_id: PayoutPath, market: MarketDep, _p: Admin
) -> PayoutPublic:
    """The transfer failed (admin): the hold is voided, the amount is available again."""
    return PayoutPublic.build(market.payouts.resolve(user_id, payout_id, "fail"))
