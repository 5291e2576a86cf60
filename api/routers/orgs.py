"""``/v1/orgs``: organizations, their members (seats), and usage with limits.

Who may do what is :func:`api.policy.require_org`: members read, owners and admins
manage, only an owner touches an owner, admin keys act as the platform; anyone else 404.
Domain calls touch the database: these handlers are sync (FastAPI runs them in threads).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse

from api import policy
from api.deps import Admin, Context, CurrentPrincipal
from api.errors import ApiProblem
from api.ids import REPLAYED_HEADER, Limit, UserPath
from api.policy import OrgAccess
from api.schemas.common import PROTECTED, problems
from api.schemas.licensing import (
    ORG_ID,
    MemberCreate,
    MemberPage,
    MemberPublic,
    MetricPublic,
    OrgCreate,
    OrgPage,
    OrgPublic,
    UsageCreate,
    UsageRecorded,
    UsageReport,
)
from api.security import Principal
from monetization.licensing import Licensing, UsageLimitExceeded
from monetization.licensing.store import month_key, parse_month

OrgPath = Annotated[str, Path(pattern=ORG_ID, max_length=64, examples=["acme"])]
OrgCursor = Annotated[str | None, Query(pattern=ORG_ID, max_length=64)]
UserCursor = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", max_length=64)]
MonthQuery = Annotated[str | None, Query(max_length=7, examples=["2030-06"])]


async def get_licensing(context: Context) -> Licensing:
    return context.licensing


LicensingDep = Annotated[Licensing, Depends(get_licensing)]


def org_access(
    licensing: Licensing, principal: Principal, org_id: str, needed: OrgAccess
) -> OrgAccess:
    """The principal's access to ``org_id`` (at least ``needed``), per the policy."""
    return policy.require_org(principal, lambda user: licensing.orgs.role_of(org_id, user), needed)


def next_cursor(items: list[str], limit: int) -> str | None:
    return items[-1] if len(items) == limit else None


router = APIRouter(prefix="/v1", tags=["organizations"], responses=PROTECTED)


@router.post(
    "/orgs",
    status_code=201,
    response_model=OrgPublic,
    responses={200: {"model": OrgPublic, "description": "It existed, the same"},
               **problems(403, 409)},
)  # fmt: skip
def create_org(body: OrgCreate, licensing: LicensingDep, _p: Admin) -> JSONResponse:
    """Create an organization with its owner (platform admins). The same request again
    answers 200 with it; the id taken otherwise is 409 `org-exists`."""
    org, created = licensing.orgs.create(body.id, body.name, body.owner_user_id)
    payload = OrgPublic.build(org).model_dump(mode="json")
    return JSONResponse(payload, status_code=201 if created else 200)


@router.get("/orgs", responses=problems(403, 404))
def list_orgs(
    licensing: LicensingDep,
    principal: CurrentPrincipal,
    limit: Limit = 100,
    cursor: OrgCursor = None,
) -> OrgPage:
    """Every organization (admin keys), or the caller's own (user tokens)."""
    if not principal.is_user and policy.org_access(principal, lambda _u: None) is OrgAccess.NONE:
        raise policy.hidden()
    user = principal.id if principal.is_user else None
    orgs = licensing.orgs.listed(user_id=user, after=cursor, limit=limit)
    return OrgPage(
        data=[OrgPublic.build(o) for o in orgs],
        next_cursor=next_cursor([o.id for o in orgs], limit),
    )


@router.get("/orgs/{org_id}", responses=problems(404))
def get_org(org_id: OrgPath, licensing: LicensingDep, principal: CurrentPrincipal) -> OrgPublic:
    """The organization with its seats (used / its license's)."""
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    return OrgPublic.build(licensing.orgs.get(org_id))


@router.post(
    "/orgs/{org_id}/members",
    status_code=201,
    response_model=MemberPublic,
    responses={200: {"model": MemberPublic, "description": "A member already: role set"},
               **problems(403, 404, 409)},
)  # fmt: skip
def add_member(
    org_id: OrgPath, body: MemberCreate, licensing: LicensingDep, principal: CurrentPrincipal
) -> JSONResponse:
    """Admit a member (201), or set a member's role (200). 409 `seat-limit-reached` when
    every seat of the license is taken; 409 `last-owner` when the last owner would go."""
    access = org_access(licensing, principal, org_id, OrgAccess.ADMIN)
    policy.require_member_change(access, licensing.orgs.role_of(org_id, body.user_id), body.role)
    member, created = licensing.orgs.add_member(org_id, body.user_id, body.role)
    payload = MemberPublic.build(member).model_dump(mode="json")
    return JSONResponse(payload, status_code=201 if created else 200)


@router.get("/orgs/{org_id}/members", responses=problems(404))
def list_members(
    org_id: OrgPath,
    licensing: LicensingDep,
    principal: CurrentPrincipal,
    limit: Limit = 100,
    cursor: UserCursor = None,
) -> MemberPage:
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    members = licensing.orgs.members(org_id, after=cursor, limit=limit)
    return MemberPage(
        data=[MemberPublic.build(m) for m in members],
        next_cursor=next_cursor([m.user_id for m in members], limit),
    )


@router.delete(
    "/orgs/{org_id}/members/{user_id}", status_code=204, responses=problems(403, 404, 409)
)
def remove_member(
    org_id: OrgPath, user_id: UserPath, licensing: LicensingDep, principal: CurrentPrincipal
) -> Response:
    """Remove a member (the seat is free again); 409 `last-owner` for the last owner."""
    access = org_access(licensing, principal, org_id, OrgAccess.ADMIN)
    policy.require_member_change(access, licensing.orgs.role_of(org_id, user_id))
    licensing.orgs.remove_member(org_id, user_id)
    return Response(status_code=204)


@router.post(
    "/orgs/{org_id}/usage",
    status_code=201,
    response_model=UsageRecorded,
    responses=problems(403, 404, 409),
)
def record_usage(
    org_id: OrgPath, body: UsageCreate, licensing: LicensingDep, principal: CurrentPrincipal
) -> JSONResponse:
    """Record a usage event. Past the month's limit of the license: 409
    `usage-limit-exceeded` with `month_total` and `limit`, nothing recorded. An event id
    counts once: the same event again answers the first answer (`Idempotent-Replayed`)."""
    org_access(licensing, principal, org_id, OrgAccess.ADMIN)
    try:
        done = licensing.usage.record(org_id, body.event_id, body.metric, body.quantity)
    except UsageLimitExceeded as refused:
        raise ApiProblem(
            "usage-limit-exceeded", refused.detail,
            extra={"month_total": refused.month_total, "limit": refused.limit},
        ) from None  # fmt: skip
    payload = UsageRecorded(
        event_id=body.event_id, metric=body.metric, month=done.month,
        month_total=done.month_total, limit=done.limit,
    ).model_dump(mode="json")  # fmt: skip
    headers = {REPLAYED_HEADER: "true"} if done.replayed else None
    return JSONResponse(payload, status_code=201, headers=headers)


@router.get("/orgs/{org_id}/usage", responses=problems(404))
def usage_report(
    org_id: OrgPath, licensing: LicensingDep, principal: CurrentPrincipal, month: MonthQuery = None
) -> UsageReport:
    """Each metric's total and event count in a UTC month (default: this one), with the
    limits of the license active now."""
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    wanted = month_key(licensing.clock()) if month is None else month
    parse_month(wanted)
    totals = licensing.usage.month(org_id, wanted)
    return UsageReport(
        org_id=org_id, month=wanted,
        metrics={t.metric.value: MetricPublic.build(t) for t in totals},
    )  # fmt: skip


__all__ = ["LicensingDep", "OrgPath", "next_cursor", "org_access", "router"]
