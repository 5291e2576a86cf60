"""Support tickets: opened by an organization's members, answered by platform support,
with SLA due times from :mod:`.sla` and breaches flagged by :mod:`.compliance`.

Statuses (a transition table; ``closed`` is final; resolving or closing records the
resolution time, reopening clears it):

============  ======================================
from          to
============  ======================================
open          pending, resolved, closed
pending       open, resolved, closed
resolved      open, closed
============  ======================================

The first comment by platform support is the first response. A priority change moves
both due times (from the opening time); a response or resolution after its due time
flags the breach at once. Ticket texts stay in these tables (never in the journal).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, tuple_, update

from ledger import InvalidRequest, NotFound
from monetization.licensing.checks import check_text, check_user_id
from monetization.licensing.errors import TicketStateConflict
from monetization.licensing.licenses import Licenses
from monetization.licensing.sla import DEFAULT_TIER, Priority, due_times
from monetization.licensing.store import begin_write, page_limit, require_org
from monetization.licensing.tables import licensing_ticket_comments as C
from monetization.licensing.tables import licensing_tickets as T

SUBJECT_MAX_CHARS = 200
BODY_MAX_CHARS = 20_000
SUPPORT = "support"  # author kind of platform support; org members are "org"


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset({
    (Status.OPEN, Status.PENDING), (Status.OPEN, Status.RESOLVED), (Status.OPEN, Status.CLOSED),
    (Status.PENDING, Status.OPEN), (Status.PENDING, Status.RESOLVED),
    (Status.PENDING, Status.CLOSED), (Status.RESOLVED, Status.OPEN),
    (Status.RESOLVED, Status.CLOSED),
})  # fmt: skip
DONE = frozenset({Status.RESOLVED, Status.CLOSED})


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    org_id: str
    subject: str
    body: str
    priority: Priority
    status: Status
    tier: str
    opened_by: str
    assignee_id: str | None
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    breached_at: datetime | None

    @property
    def breached(self) -> bool:
        return self.first_response_breached or self.resolution_breached


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    ticket_id: str
    author_kind: str
    author_id: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TicketChange:
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: str | None = None
    unassign: bool = False


def _ticket(row: Any) -> Ticket:
    return Ticket(
        row.id, row.org_id, row.subject, row.body, Priority(row.priority), Status(row.status),
        row.tier, row.opened_by, row.assignee_id, row.created_at, row.updated_at,
        row.first_response_due_at, row.resolution_due_at, row.first_response_at,
        row.resolved_at, bool(row.first_response_breached), bool(row.resolution_breached),
        row.breached_at,
    )  # fmt: skip


def _comment(row: Any) -> Comment:
    return Comment(row.id, row.ticket_id, row.author_kind, row.author_id, row.body,
                   row.created_at)  # fmt: skip


def check_priority(value: object) -> Priority:
    if value not in {p.value for p in Priority}:
        raise InvalidRequest("priority must be low, normal, high or urgent")
    return Priority(str(value))


def status_change(ticket: Ticket, to: Status, now: datetime) -> dict[str, Any]:
    """The columns a move to ``to`` sets (raises TicketStateConflict when not allowed)."""
    if (ticket.status, to) not in TRANSITIONS:
        raise TicketStateConflict(f"a {ticket.status.value} ticket cannot become {to.value}")
    if to not in DONE:
        return {"status": to.value, "resolved_at": None}
    resolved_at = ticket.resolved_at or now
    late = resolved_at > ticket.resolution_due_at
    return {"status": to.value, "resolved_at": resolved_at,
            "resolution_breached": ticket.resolution_breached or late,
            "breached_at": ticket.breached_at or (now if late else None)}  # fmt: skip


class Tickets:
    def __init__(self, engine: Engine, licenses: Licenses, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.licenses = licenses
        self.clock = clock

    def open(
        self, org_id: str, subject: str, body: str, priority: str, *, opened_by: str
    ) -> Ticket:
        check_text(subject, "subject", SUBJECT_MAX_CHARS)
        check_text(body, "body", BODY_MAX_CHARS, multiline=True)
        level = check_priority(priority)
        now = self.clock()
        ticket_id = str(uuid.uuid4())
        with begin_write(self.engine) as conn:
            require_org(conn, org_id)
            active = self.licenses.active(conn, org_id, now)
            tier = DEFAULT_TIER if active is None else active.tier.value
            first_due, resolution_due = due_times(tier, level, now)
            conn.execute(
                insert(T).values(
                    id=ticket_id, org_id=org_id, subject=subject, body=body,
                    priority=level.value, status=Status.OPEN.value, tier=tier,
                    opened_by=opened_by, assignee_id=None, created_at=now, updated_at=now,
                    first_response_due_at=first_due, resolution_due_at=resolution_due,
                    first_response_at=None, resolved_at=None, first_response_breached=False,
                    resolution_breached=False, breached_at=None, version=1,
                )
            )  # fmt: skip
        return self.get(org_id, ticket_id)

    def get(self, org_id: str, ticket_id: str, conn: Connection | None = None) -> Ticket:
        stmt = select(T).where(and_(T.c.org_id == org_id, T.c.id == ticket_id))
        if conn is None:
            with self.engine.connect() as own:
                row = own.execute(stmt).first()
        else:
            row = conn.execute(stmt.with_for_update() if _pg(conn) else stmt).first()
        if row is None:
            raise NotFound(f"ticket {ticket_id!r} is not one of {org_id!r}")
        return _ticket(row)

    def of_org(
        self, org_id: str, *, breached: bool | None = None, after: str | None = None,
        limit: int = 100,
    ) -> list[Ticket]:  # fmt: skip
        """The organization's tickets, oldest first; ``breached`` filters on the flags."""
        stmt = select(T).where(T.c.org_id == org_id)
        flagged = or_(T.c.first_response_breached.is_(True), T.c.resolution_breached.is_(True))
        if breached is not None:
            stmt = stmt.where(flagged if breached else ~flagged)
        if after is not None:
            mark = select(T.c.created_at, T.c.id).where(T.c.id == after).subquery()
            stmt = stmt.where(tuple_(T.c.created_at, T.c.id) > select(mark).scalar_subquery())
        with self.engine.connect() as conn:
            require_org(conn, org_id)
            rows = conn.execute(stmt.order_by(T.c.created_at, T.c.id).limit(page_limit(limit)))
            return [_ticket(r) for r in rows]

    def comment(
        self, org_id: str, ticket_id: str, body: str, *, author_kind: str, author_id: str
    ) -> Comment:
        """Add a comment; platform support's first one is the ticket's first response."""
        check_text(body, "body", BODY_MAX_CHARS, multiline=True)
        assert author_kind in (SUPPORT, "org"), author_kind
        now = self.clock()
        comment_id = str(uuid.uuid4())
        with begin_write(self.engine) as conn:
            ticket = self.get(org_id, ticket_id, conn)
            if ticket.status is Status.CLOSED:
                raise TicketStateConflict("a closed ticket takes no more comments")
            conn.execute(
                insert(C).values(id=comment_id, ticket_id=ticket_id, author_kind=author_kind,
                                 author_id=author_id, body=body, created_at=now)
            )  # fmt: skip
            values: dict[str, Any] = {"updated_at": now, "version": T.c.version + 1}
            if author_kind == SUPPORT and ticket.first_response_at is None:
                late = now > ticket.first_response_due_at
                values.update(
                    first_response_at=now,
                    first_response_breached=ticket.first_response_breached or late,
                    breached_at=ticket.breached_at or (now if late else None),
                )
            conn.execute(update(T).where(T.c.id == ticket_id).values(**values))
        return Comment(comment_id, ticket_id, author_kind, author_id, body, now)

    def comments(
        self, org_id: str, ticket_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[Comment]:
        self.get(org_id, ticket_id)
        stmt = select(C).where(C.c.ticket_id == ticket_id)
        if after is not None:
            mark = select(C.c.created_at, C.c.id).where(C.c.id == after).subquery()
            stmt = stmt.where(tuple_(C.c.created_at, C.c.id) > select(mark).scalar_subquery())
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(C.c.created_at, C.c.id).limit(page_limit(limit)))
            return [_comment(r) for r in rows]

    def change(self, org_id: str, ticket_id: str, change: TicketChange) -> Ticket:
        """Apply a status, priority or assignee change (each optional) atomically."""
        if change.assignee_id is not None:
            check_user_id(change.assignee_id)
        now = self.clock()
        with begin_write(self.engine) as conn:
            ticket = self.get(org_id, ticket_id, conn)
            values: dict[str, Any] = {}
            if change.priority is not None and change.priority is not ticket.priority:
                first_due, resolution_due = due_times(ticket.tier, change.priority,
                                                      ticket.created_at)  # fmt: skip
                values.update(priority=change.priority.value, first_response_due_at=first_due,
                              resolution_due_at=resolution_due)  # fmt: skip
            if change.status is not None and change.status is not ticket.status:
                values.update(status_change(ticket, change.status, now))
            if change.assignee_id is not None or change.unassign:
                values["assignee_id"] = change.assignee_id
            if values:
                conn.execute(
                    update(T).where(T.c.id == ticket_id)
                    .values(**values, updated_at=now, version=T.c.version + 1)
                )  # fmt: skip
        return self.get(org_id, ticket_id)


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"
