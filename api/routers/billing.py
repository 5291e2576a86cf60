"""``/v1/plans`` (public), ``/v1/users/{user_id}/subscription``, ``…/features/{feature}``
and ``/v1/metrics/business`` (admin). A user token reaches only its own user; admin keys
reach any (other keys get 404 on ``/v1/users/…``)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api import policy
from api.deps import Admin, Context, CurrentPrincipal, IdempotencyKey
from api.errors import ApiProblem
from api.ids import REPLAYED_HEADER, UserPath
from api.schemas.billing import (
    BusinessMetricsPublic,
    FeatureAccessPublic,
    FeatureDefinition,
    PlanList,
    PlanPublic,
    SubscriptionChanged,
    SubscriptionCreate,
    SubscriptionPublic,
)
from api.schemas.common import PROTECTED, problems
from monetization.billing import Billing

MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
YEAR_MIN, YEAR_MAX = 1970, 9998  # the month after 9999-12 has no year


async def get_billing(context: Context) -> Billing:
    return context.billing


BillingDep = Annotated[Billing, Depends(get_billing)]
FeaturePath = Annotated[str, Path(max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")]

public = APIRouter(prefix="/v1", tags=["billing"])
router = APIRouter(prefix="/v1", tags=["billing"], responses=PROTECTED)


@public.get("/plans")
def list_plans(billing: BillingDep) -> PlanList:
    """The plans with their price per month and every feature's value (public)."""
    return PlanList(
        data=[PlanPublic.build(p) for p in billing.catalog.plans()],
        features=[FeatureDefinition.build(f) for f in billing.catalog.features()],
    )


@router.get("/users/{user_id}/subscription", responses=problems(404))
def get_subscription(
    user_id: UserPath, billing: BillingDep, principal: CurrentPrincipal
) -> SubscriptionPublic:
    """The user's subscription; a user who never subscribed is on `free`, `active`."""
    policy.require_user_act(principal, user_id)
    return SubscriptionPublic.build(billing.subscriptions.get(user_id))


@router.post(
    "/users/{user_id}/subscription",
    response_model=SubscriptionChanged,
    responses=problems(402, 404, 409),
)
def change_subscription(
    user_id: UserPath,
    principal: CurrentPrincipal,  # authenticate before anything else is looked at
    body: SubscriptionCreate,
    key: IdempotencyKey,
    billing: BillingDep,
) -> JSONResponse:
    """Subscribe (free → paid: the full price now, a month from today), upgrade (at once,
    prorated: `round_half_even((new - old) * remaining_s / period_s)` cents) or downgrade
    (at the period's end). 402 `payment-declined` and 503 `payment-provider-unavailable`
    change nothing (retry a 503 with the same key); 409 `subscription-busy` while another
    paid change of this subscription runs; the same key again answers the first result."""
    policy.require_user_act(principal, user_id)
    result = billing.subscribe(
        user_id, body.plan, body.payment_method, principal=principal.name, key=key
    )
    headers = {REPLAYED_HEADER: "true"} if result.replayed else None
    payload = SubscriptionChanged.from_result(result).model_dump(mode="json")
    return JSONResponse(payload, headers=headers)


@router.post("/users/{user_id}/subscription/cancel", responses=problems(404, 409))
def cancel_subscription(
    user_id: UserPath, billing: BillingDep, principal: CurrentPrincipal
) -> SubscriptionPublic:
    """Cancel at the period's end (a past-due subscription ends now). A repeat answers
    with the current state."""
    policy.require_user_act(principal, user_id)
    return SubscriptionPublic.build(billing.cancel(user_id))


@router.post("/users/{user_id}/subscription/resume", responses=problems(404, 409))
def resume_subscription(
    user_id: UserPath, billing: BillingDep, principal: CurrentPrincipal
) -> SubscriptionPublic:
    """Undo a scheduled cancel or downgrade. A repeat answers with the current state."""
    policy.require_user_act(principal, user_id)
    return SubscriptionPublic.build(billing.resume(user_id))


@router.get("/users/{user_id}/features/{feature}", responses=problems(404))
async def get_feature(
    user_id: UserPath, feature: FeaturePath, billing: BillingDep, principal: CurrentPrincipal
) -> FeatureAccessPublic:
    """A feature's value for the user on their plan now: a boolean, a limit, or null
    (unlimited). Unknown feature: 404. Served from a cache that every plan change clears
    in every process at once."""
    policy.require_user_act(principal, user_id)
    cached = billing.access.cache.get(user_id)
    if cached is None:  # a database read: off the event loop
        found = await run_in_threadpool(billing.access.lookup, user_id, feature)
    else:
        found = billing.access.lookup(user_id, feature)
    definition, value, plan = found
    return FeatureAccessPublic(feature=definition.key, value=value, plan=plan.id)


@router.get("/metrics/business", responses=problems(403))
def business_metrics(
    billing: BillingDep,
    _p: Admin,
    month: Annotated[str, Query(max_length=7, examples=["2030-06"])],
) -> BusinessMetricsPublic:
    """MRR, paying customers, churn, payment success and marketplace gross for a UTC
    calendar month, from the ledger and the subscriptions (admin)."""
    match = MONTH_RE.fullmatch(month)
    if match is None or not YEAR_MIN <= int(match.group(1)) <= YEAR_MAX:
        raise ApiProblem("invalid-request", f"month must be YYYY-MM, {YEAR_MIN}-01..{YEAR_MAX}-12")
    year, number = int(match.group(1)), int(match.group(2))
    return BusinessMetricsPublic.build(billing.metrics.month(year, number))
