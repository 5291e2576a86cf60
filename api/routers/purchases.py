"""Buying a course (``POST /v1/courses/{id}/purchases``), a purchase, and its refund."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from api import policy
from api.deps import CurrentPrincipal, IdempotencyKey
from api.ids import REPLAYED_HEADER, CoursePath, PurchasePath
from api.routers.marketdeps import MarketDep
from api.schemas.common import PROTECTED, problems
from api.schemas.marketplace import PurchaseCreate, PurchasePublic, RefundBody

router = APIRouter(prefix="/v1", tags=["marketplace"], responses=PROTECTED)


@router.post(
    "/courses/{course_id}/purchases",
    status_code=status.HTTP_201_CREATED,
    response_model=PurchasePublic,
    responses=problems(402, 404, 409),
)
def buy_course(
    course_id: CoursePath,
    principal: CurrentPrincipal,  # authenticate before anything else is looked at
    body: PurchaseCreate,
    key: IdempotencyKey,
    market: MarketDep,
) -> JSONResponse:
    """Buy a published course (the buyer's user token, or an admin key naming `buyer_id`).
    One `marketplace.sale` entry splits the price by the instructor's plan at the time of
    sale: enterprise 75/25, otherwise 70/30 (`round_half_even` on the instructor's share).
    402 `payment-declined` and 503 `payment-provider-unavailable` change nothing; 409
    `already-purchased`; a free course grants access with no entry. The same key again
    answers the same purchase (`Idempotent-Replayed: true`)."""
    buyer = policy.acting_user(principal, body.buyer_id, "buyer_id")
    purchase, replayed = market.purchases.buy(
        course_id, buyer, body.payment_method, principal=principal.name, key=key
    )
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    payload = PurchasePublic.build(purchase).model_dump(mode="json")
    return JSONResponse(payload, status.HTTP_201_CREATED, headers=headers)


@router.get("/purchases/{purchase_id}", responses=problems(404))
def get_purchase(
    purchase_id: PurchasePath, market: MarketDep, principal: CurrentPrincipal
) -> PurchasePublic:
    """A purchase, for its buyer, its instructor and ledger:read keys."""
    purchase = market.purchases.get(purchase_id)
    policy.require_purchase_read(principal, purchase.buyer_id, purchase.instructor_id)
    return PurchasePublic.build(purchase)


@router.post("/purchases/{purchase_id}/refund", responses=problems(403, 404, 409))
def refund_purchase(
    purchase_id: PurchasePath,
    market: MarketDep,
    principal: CurrentPrincipal,
    body: RefundBody | None = None,
) -> PurchasePublic:
    """Within the refund window (the buyer or an admin): the sale is reversed and access
    revoked. After it, 409 `refund-window-closed` — unless an admin sends
    `{"after_window": true}`: the instructor's share is taken back from available and what
    it lacks becomes a receivable, repaid before any payout. A repeat answers the state."""
    after_window = body.after_window if body is not None else False
    purchase = market.purchases.get(purchase_id)
    policy.require_refunder(principal, purchase.buyer_id, after_window=after_window)
    return PurchasePublic.build(market.refunds.refund(purchase_id, after_window=after_window))
