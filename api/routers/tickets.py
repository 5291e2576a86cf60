"""Support tickets of an organization with SLA targets, and the monthly SLA report.

Members open tickets and comment; owners and admins also change status and priority;
platform support (admin keys) answers (its first comment is the first response) and
assigns. `?breached=true` lists the tickets past a target (flagged by the maintenance
round and `azora licensing sla-check`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import CurrentPrincipal
from api.ids import UUID, Limit
from api.policy import OrgAccess
from api.routers.orgs import LicensingDep, MonthQuery, OrgPath, next_cursor, org_access
from api.schemas.common import PROTECTED, problems
from api.schemas.licensing import (
    CommentCreate,
    CommentPage,
    CommentPublic,
    SlaReportPublic,
    TicketCreate,
    TicketPage,
    TicketPatch,
    TicketPublic,
)
from monetization.licensing import Priority, Status, TicketChange
from monetization.licensing.store import month_key, parse_month
from monetization.licensing.tickets import SUPPORT

TicketPath = Annotated[str, Path(pattern=UUID, max_length=36)]
UuidCursor = Annotated[str | None, Query(pattern=UUID, max_length=36)]

router = APIRouter(prefix="/v1", tags=["support"], responses=PROTECTED)


@router.post(
    "/orgs/{org_id}/tickets", status_code=201, response_model=TicketPublic,
    responses=problems(404),
)  # fmt: skip
def open_ticket(
    org_id: OrgPath, body: TicketCreate, licensing: LicensingDep, principal: CurrentPrincipal
) -> TicketPublic:
    """Open a ticket; its first-response and resolution due times follow the targets of
    the organization's tier and the priority."""
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    ticket = licensing.tickets.open(
        org_id, body.subject, body.body, body.priority, opened_by=principal.name
    )
    return TicketPublic.build(ticket)


@router.get("/orgs/{org_id}/tickets", responses=problems(404))
def list_tickets(
    org_id: OrgPath,
    *,
    licensing: LicensingDep,
    principal: CurrentPrincipal,
    breached: bool | None = None,
    limit: Limit = 100,
    cursor: UuidCursor = None,
) -> TicketPage:
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    found = licensing.tickets.of_org(org_id, breached=breached, after=cursor, limit=limit)
    return TicketPage(
        data=[TicketPublic.build(t) for t in found],
        next_cursor=next_cursor([t.id for t in found], limit),
    )


@router.get("/orgs/{org_id}/tickets/{ticket_id}", responses=problems(404))
def get_ticket(
    org_id: OrgPath, ticket_id: TicketPath, licensing: LicensingDep, principal: CurrentPrincipal
) -> TicketPublic:
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    return TicketPublic.build(licensing.tickets.get(org_id, ticket_id))


@router.patch("/orgs/{org_id}/tickets/{ticket_id}", responses=problems(403, 404, 409))
def change_ticket(
    org_id: OrgPath,
    ticket_id: TicketPath,
    body: TicketPatch,
    licensing: LicensingDep,
    principal: CurrentPrincipal,
) -> TicketPublic:
    """Change the status, priority (the due times follow) or assignee (platform support
    only; `null` unassigns). 409 `ticket-state-conflict` for a move the table forbids."""
    needed = OrgAccess.PLATFORM if "assignee_id" in body.model_fields_set else OrgAccess.ADMIN
    org_access(licensing, principal, org_id, needed)
    change = TicketChange(
        status=None if body.status is None else Status(body.status),
        priority=None if body.priority is None else Priority(body.priority),
        assignee_id=body.assignee_id,
        unassign="assignee_id" in body.model_fields_set and body.assignee_id is None,
    )
    return TicketPublic.build(licensing.tickets.change(org_id, ticket_id, change))


@router.post(
    "/orgs/{org_id}/tickets/{ticket_id}/comments", status_code=201,
    response_model=CommentPublic, responses=problems(404, 409),
)  # fmt: skip
def comment(
    org_id: OrgPath,
    ticket_id: TicketPath,
    body: CommentCreate,
    licensing: LicensingDep,
    principal: CurrentPrincipal,
) -> CommentPublic:
    """Comment; platform support's first comment is the ticket's first response."""
    access = org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    kind = SUPPORT if access is OrgAccess.PLATFORM else "org"
    made = licensing.tickets.comment(
        org_id, ticket_id, body.body, author_kind=kind, author_id=principal.name
    )
    return CommentPublic.build(made)


@router.get("/orgs/{org_id}/tickets/{ticket_id}/comments", responses=problems(404))
def list_comments(
    org_id: OrgPath,
    ticket_id: TicketPath,
    *,
    licensing: LicensingDep,
    principal: CurrentPrincipal,
    limit: Limit = 100,
    cursor: UuidCursor = None,
) -> CommentPage:
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    found = licensing.tickets.comments(org_id, ticket_id, after=cursor, limit=limit)
    return CommentPage(
        data=[CommentPublic.build(c) for c in found],
        next_cursor=next_cursor([c.id for c in found], limit),
    )


@router.get("/orgs/{org_id}/sla-report", responses=problems(404))
def sla_report(
    org_id: OrgPath, licensing: LicensingDep, principal: CurrentPrincipal, month: MonthQuery = None
) -> SlaReportPublic:
    """The tickets opened in a UTC month (default: this one): targets met, breached,
    pending, and the compliance (met / decided)."""
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    year, number = parse_month(month_key(licensing.clock()) if month is None else month)
    return SlaReportPublic.build(org_id, licensing.sla.report(org_id, year, number))
