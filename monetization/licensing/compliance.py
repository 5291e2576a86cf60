"""SLA breaches and the monthly compliance report.

:meth:`SlaMonitor.check` flags every ticket past a due time with nothing done by then: no
first response (and not resolved) past ``first_response_due_at``, not resolved past
``resolution_due_at``. Each flag is set once (the statement re-checks it), so the
maintenance round, ``azora licensing sla-check`` and a second process can all run it.

The report counts the tickets opened in a UTC month. A target is *met* when done by its due
time, *breached* when done late or still not done past it, *pending* otherwise;
``compliance`` is met / (met + breached) over both targets (null when nothing is decided).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Engine, and_, func, literal, select, update

from ledger import UTCDateTime
from monetization.billing.metrics import Rate
from monetization.licensing.store import begin_write, require_org
from monetization.licensing.tables import licensing_tickets as T

REPORT_TICKETS_MAX = 100_000  # a bound on one report's scan


@dataclass(frozen=True, slots=True)
class SlaCheck:
    first_response: int
    resolution: int

    def line(self) -> str:
        return (
            f"sla: {self.first_response + self.resolution} newly breached "
            f"({self.first_response} first response, {self.resolution} resolution)"
        )


@dataclass(frozen=True, slots=True)
class TargetCounts:
    met: int = 0
    breached: int = 0
    pending: int = 0


@dataclass(frozen=True, slots=True)
class SlaReport:
    month: str
    tickets: int
    first_response: TargetCounts
    resolution: TargetCounts

    @property
    def compliance(self) -> Rate:
        met = self.first_response.met + self.resolution.met
        decided = met + self.first_response.breached + self.resolution.breached
        return Rate(met, decided)


def _count(done: list[datetime | None], due: list[datetime], now: datetime) -> TargetCounts:
    met = breached = pending = 0
    for at, deadline in zip(done, due, strict=True):
        if at is not None and at <= deadline:
            met += 1
        elif at is not None or now > deadline:
            breached += 1
        else:
            pending += 1
    return TargetCounts(met, breached, pending)


class SlaMonitor:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def check(self, now: datetime | None = None) -> SlaCheck:
        """Flag the tickets newly past a due time at ``now`` (default: the clock)."""
        now = now or self.clock()
        open_ = T.c.resolved_at.is_(None)
        with begin_write(self.engine) as conn:
            first = conn.execute(
                update(T)
                .where(and_(open_, T.c.first_response_at.is_(None),
                            T.c.first_response_breached.is_(False),
                            T.c.first_response_due_at < now))
                .values(first_response_breached=True, version=T.c.version + 1,
                        breached_at=_first_breach(now))
            ).rowcount  # fmt: skip
            resolution = conn.execute(
                update(T)
                .where(and_(open_, T.c.resolution_breached.is_(False),
                            T.c.resolution_due_at < now))
                .values(resolution_breached=True, version=T.c.version + 1,
                        breached_at=_first_breach(now))
            ).rowcount  # fmt: skip
        return SlaCheck(int(first), int(resolution))

    def report(self, org_id: str, year: int, month: int, now: datetime | None = None) -> SlaReport:
        now = now or self.clock()
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year, month, calendar.monthrange(year, month)[1], tzinfo=UTC)
        end = end.replace(hour=23, minute=59, second=59, microsecond=999_999)
        columns = (T.c.first_response_at, T.c.first_response_due_at, T.c.resolved_at,
                   T.c.resolution_due_at)  # fmt: skip
        with self.engine.connect() as conn:
            require_org(conn, org_id)
            rows = conn.execute(
                select(*columns)
                .where(and_(T.c.org_id == org_id, T.c.created_at >= start, T.c.created_at <= end))
                .limit(REPORT_TICKETS_MAX)
            ).all()
        first = _count([r[0] for r in rows], [r[1] for r in rows], now)
        resolution = _count([r[2] for r in rows], [r[3] for r in rows], now)
        return SlaReport(f"{year:04d}-{month:02d}", len(rows), first, resolution)


def _first_breach(now: datetime) -> ColumnElement[datetime]:
    return func.coalesce(T.c.breached_at, literal(now, UTCDateTime))
