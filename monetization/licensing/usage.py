"""Usage: idempotent events, monthly totals, and the license's limits enforced.

=================  =========================================================  ==============
metric             an event's ``quantity``                                    limited by
=================  =========================================================  ==============
``api_calls``      calls made (> 0); the month's total is their sum            api_calls_per_
                                                                              month
``active_users``   users newly active this month (> 0), counted by the caller active_users
``storage_bytes``  bytes stored (> 0) or freed (< 0); the total is the level, storage_bytes
                   carried from month to month
=================  =========================================================  ==============

An event whose total would pass the limit of the organization's active license is refused
(:class:`UsageLimitExceeded`) and recorded nowhere; freeing storage is always accepted.
Without an active license every limit is 0. The total and the event are written under
the organization's row lock in one transaction, so concurrent events never pass a limit
together. An event id counts once per organization, forever: the same event again
answers what it answered first; the same id with another metric or quantity is an
:class:`~ledger.IdempotencyConflict`. Months are UTC calendar months of the recording time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Engine, and_, insert, select, update

from ledger import IdempotencyConflict, InvalidRequest
from monetization.licensing.checks import EVENT_ID_RE, check_id
from monetization.licensing.errors import UsageLimitExceeded
from monetization.licensing.keyformat import LIMIT_MAX, Limits
from monetization.licensing.licenses import Licenses
from monetization.licensing.store import begin_write, lock_org, month_key, require_org
from monetization.licensing.tables import licensing_usage_events as E
from monetization.licensing.tables import licensing_usage_totals as T


class Metric(StrEnum):
    API_CALLS = "api_calls"
    STORAGE_BYTES = "storage_bytes"
    ACTIVE_USERS = "active_users"


LIMIT_OF = {
    Metric.API_CALLS: "api_calls_per_month",
    Metric.STORAGE_BYTES: "storage_bytes",
    Metric.ACTIVE_USERS: "active_users",
}
CARRIED = frozenset({Metric.STORAGE_BYTES})  # a level, not a monthly count


@dataclass(frozen=True, slots=True)
class Recorded:
    month: str
    month_total: int
    limit: int | None
    replayed: bool


@dataclass(frozen=True, slots=True)
class MetricTotal:
    metric: Metric
    total: int
    events: int
    limit: int | None


def check_metric(value: object) -> Metric:
    if value not in {m.value for m in Metric}:
        raise InvalidRequest("metric must be api_calls, storage_bytes or active_users")
    return Metric(str(value))


def check_quantity(metric: Metric, quantity: object) -> int:
    if type(quantity) is not int or not -LIMIT_MAX <= quantity <= LIMIT_MAX or quantity == 0:
        raise InvalidRequest(f"quantity must be a non-zero whole number within ±{LIMIT_MAX}")
    if quantity < 0 and metric not in CARRIED:
        raise InvalidRequest(f"{metric.value} only grows: quantity must be positive")
    return quantity


def limit_for(limits: Limits | None, metric: Metric) -> int | None:
    """The limit of ``metric`` under ``limits`` (None: unlimited; no license: 0)."""
    return 0 if limits is None else getattr(limits, LIMIT_OF[metric])


class Usage:
    def __init__(self, engine: Engine, licenses: Licenses, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.licenses = licenses
        self.clock = clock

    def record(self, org_id: str, event_id: str, metric: str, quantity: int) -> Recorded:
        check_id(event_id, EVENT_ID_RE, "event_id")
        kind = check_metric(metric)
        quantity = check_quantity(kind, quantity)
        now = self.clock()
        month = month_key(now)
        with begin_write(self.engine) as conn:
            lock_org(conn, org_id)
            earlier = conn.execute(
                select(E).where(and_(E.c.org_id == org_id, E.c.event_id == event_id))
            ).first()
            if earlier is not None:
                if (earlier.metric, int(earlier.quantity)) != (kind.value, quantity):
                    raise IdempotencyConflict(f"event {event_id!r} was recorded with other values")
                return Recorded(earlier.month, int(earlier.month_total), earlier.limit_value, True)
            active = self.licenses.active(conn, org_id, now)
            limit = limit_for(None if active is None else active.limits, kind)
            total, events = self._current(conn, org_id, kind, month)
            after = total + quantity
            if quantity > 0 and limit is not None and after > limit:
                raise UsageLimitExceeded(
                    f"{kind.value} would reach {after} this month, past the limit of {limit}",
                    month_total=total, limit=limit,
                )  # fmt: skip
            if after < 0:
                raise InvalidRequest(f"cannot free more than the {total} bytes stored")
            self._write_total(conn, org_id, kind, month, total=after, events=events)
            conn.execute(
                insert(E).values(
                    org_id=org_id, event_id=event_id, metric=kind.value, quantity=quantity,
                    month=month, month_total=after, limit_value=limit, recorded_at=now,
                )
            )  # fmt: skip
        return Recorded(month, after, limit, False)

    def _current(
        self, conn: Connection, org_id: str, metric: Metric, month: str
    ) -> tuple[int, int]:
        """(total so far, events so far) of the month; -1 events: no row yet."""
        row = conn.execute(
            select(T.c.total, T.c.events).where(
                and_(T.c.org_id == org_id, T.c.metric == metric.value, T.c.month == month)
            )
        ).first()
        if row is not None:
            return int(row.total), int(row.events)
        return (self._carried(conn, org_id, metric, month) if metric in CARRIED else 0), -1

    def _carried(self, conn: Connection, org_id: str, metric: Metric, month: str) -> int:
        total = conn.execute(
            select(T.c.total)
            .where(and_(T.c.org_id == org_id, T.c.metric == metric.value, T.c.month < month))
            .order_by(T.c.month.desc())
            .limit(1)
        ).scalar()
        return 0 if total is None else int(total)

    def _write_total(
        self, conn: Connection, org_id: str, metric: Metric, month: str, *, total: int,
        events: int,
    ) -> None:  # fmt: skip
        if events < 0:
            conn.execute(
                insert(T).values(org_id=org_id, metric=metric.value, month=month, total=total,
                                 events=1)
            )  # fmt: skip
            return
        conn.execute(
            update(T)
            .where(and_(T.c.org_id == org_id, T.c.metric == metric.value, T.c.month == month))
            .values(total=total, events=events + 1)
        )

    def month(self, org_id: str, month: str) -> list[MetricTotal]:
        """Each metric's total and event count in ``month`` (``YYYY-MM``), with the limit of
        the organization's license active now."""
        with self.engine.connect() as conn:
            require_org(conn, org_id)
            active = self.licenses.active(conn, org_id, self.clock())
            report = []
            for metric in Metric:
                total, events = self._current(conn, org_id, metric, month)
                limits = None if active is None else active.limits
                report.append(MetricTotal(metric, total, max(events, 0), limit_for(limits, metric)))
        return report
