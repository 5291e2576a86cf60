"""Subscriptions in ``billing_subscriptions``, each change with its history row.

Every write is a compare-and-set on the row's ``version`` (and on no paid change being in
progress), so two processes deciding on the same subscription cannot both apply: the loser
sees ``False`` and re-reads. Each applied change appends to ``billing_subscription_events``
and tells the other processes in the same transaction (:class:`ChangeSignal`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, and_, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from ledger import WRITE_TXN
from monetization.billing.model import Subscription, Transition, mrr_of
from monetization.billing.plans import PlanCatalog
from monetization.billing.states import Status
from monetization.billing.tables import billing_subscription_events, billing_subscriptions

T = billing_subscriptions


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction (on SQLite: the write lock taken at BEGIN, so two writers queue
    instead of failing half-way)."""
    with engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
        yield conn


class ChangeSignal(Protocol):
    """Called inside the transaction that changed these users' plans."""

    def __call__(self, conn: Connection, user_ids: Sequence[str]) -> None: ...


def no_signal(conn: Connection, user_ids: Sequence[str]) -> None:
    return None


def _row_values(sub: Subscription) -> dict[str, Any]:
    return {
        "plan_id": sub.plan_id,
        "status": sub.status.value,
        "current_period_start": sub.current_period_start,
        "current_period_end": sub.current_period_end,
        "anchor_day": sub.anchor_day,
        "cancel_at_period_end": sub.cancel_at_period_end,
        "scheduled_plan": sub.scheduled_plan,
        "payment_method": sub.payment_method,
        "failed_attempts": sub.failed_attempts,
        "grace_until": sub.grace_until,
        "due_at": sub.due_at,
    }


def from_row(row: Any) -> Subscription:
    return Subscription(
        user_id=row.user_id,
        plan_id=row.plan_id,
        status=Status(row.status),
        current_period_start=row.current_period_start,
        current_period_end=row.current_period_end,
        anchor_day=row.anchor_day,
        cancel_at_period_end=bool(row.cancel_at_period_end),
        scheduled_plan=row.scheduled_plan,
        payment_method=row.payment_method,
        failed_attempts=int(row.failed_attempts),
        grace_until=row.grace_until,
        due_at=row.due_at,
        change_id=row.change_id,
        version=int(row.version),
    )


class SubscriptionStore:
    def __init__(
        self,
        engine: Engine,
        catalog: PlanCatalog,
        clock: Callable[[], datetime],
        signal: ChangeSignal = no_signal,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.clock = clock
        self.signal = signal

    def get(self, user_id: str, conn: Connection | None = None) -> Subscription:
        """The user's subscription; a user who never subscribed is on free, active."""
        stmt = select(T).where(T.c.user_id == user_id)
        if conn is not None:
            row = conn.execute(stmt).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(stmt).first()
        return Subscription(user_id) if row is None else from_row(row)

    def ensure_row(self, user_id: str) -> Subscription:
        """The user's row, created on free if missing (a paid change needs one to claim)."""
        sub = self.get(user_id)
        if sub.version:
            return sub
        now = self.clock()
        try:
            with begin_write(self.engine) as conn:
                conn.execute(
                    insert(T).values(
                        user_id=user_id, **_row_values(sub), change_id=None, version=1,
                        created_at=now, updated_at=now,
                    )
                )  # fmt: skip
        except IntegrityError:
            pass  # created by a concurrent request
        return self.get(user_id)

    def apply(self, transitions: Sequence[Transition], conn: Connection | None = None) -> set[str]:
        """Apply each transition whose subscription is still at its ``before`` version and
        free of a paid change (or owned by it); the users it applied to."""
        if not transitions:
            return set()
        if conn is None:
            with begin_write(self.engine) as own:
                return self.apply(transitions, own)
        now = self.clock()
        if conn.dialect.name == "postgresql" and all(
            t.before.change_id is None for t in transitions
        ):
            applied = _apply_unnest(conn, transitions, now)
        else:
            applied = {t.before.user_id for t in transitions if _apply_one(conn, t, now)}
        winners = [t for t in transitions if t.before.user_id in applied]
        if winners:
            conn.execute(
                insert(billing_subscription_events), [self._event(t, now) for t in winners]
            )
            self.signal(conn, sorted(applied))
        return applied

    def _event(self, t: Transition, now: datetime) -> dict[str, Any]:
        plan_after = self.catalog.plan(t.after.plan_id)
        return {
            "user_id": t.before.user_id,
            "event": t.event.value,
            "from_status": t.before.status.value,
            "to_status": t.after.status.value,
            "from_plan": t.before.plan_id,
            "to_plan": t.after.plan_id,
            "mrr_cents": mrr_of(t.after, plan_after),
            "amount_cents": t.amount,
            "entry_id": t.entry_id,
            "at": t.at,
            "recorded_at": now,
        }

    def claim(self, sub: Subscription, change_id: str) -> bool:
        """Mark a paid change in progress on ``sub`` (at its version); False if taken."""
        with begin_write(self.engine) as conn:
            done = conn.execute(
                update(T)
                .where(and_(T.c.user_id == sub.user_id, T.c.version == sub.version,
                            T.c.change_id.is_(None)))
                .values(change_id=change_id)
            )  # fmt: skip
        return done.rowcount == 1

    def release(self, user_id: str, change_id: str, conn: Connection | None = None) -> None:
        stmt = (
            update(T)
            .where(and_(T.c.user_id == user_id, T.c.change_id == change_id))
            .values(change_id=None)
        )
        if conn is not None:
            conn.execute(stmt)
            return
        with begin_write(self.engine) as own:
            own.execute(stmt)

    def due(
        self, now: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[Subscription]:
        """Subscriptions due by ``now`` with no paid change in progress, in (due_at,
        user_id) order after the keyset ``after``."""
        clause = and_(T.c.due_at <= now, T.c.change_id.is_(None))
        if after is not None:
            due_at, user_id = after
            clause = and_(
                clause,
                or_(T.c.due_at > due_at, and_(T.c.due_at == due_at, T.c.user_id > user_id)),
            )
        stmt = select(T).where(clause).order_by(T.c.due_at, T.c.user_id).limit(limit)
        with self.engine.connect() as conn:
            return [from_row(r) for r in conn.execute(stmt)]


def _apply_one(conn: Connection, t: Transition, now: datetime) -> bool:
    assert t.before.version >= 1, "a row exists before it changes"
    done = conn.execute(
        update(T)
        .where(
            and_(
                T.c.user_id == t.before.user_id,
                T.c.version == t.before.version,
                _change_matches(t.before.change_id),
            )
        )
        .values(
            **_row_values(t.after), change_id=None, version=t.before.version + 1, updated_at=now
        )
    )
    return done.rowcount == 1


_COLUMNS = (
    ("plan_id", "text"),
    ("status", "text"),
    ("current_period_start", "timestamptz"),
    ("current_period_end", "timestamptz"),
    ("anchor_day", "smallint"),
    ("cancel_at_period_end", "boolean"),
    ("scheduled_plan", "text"),
    ("payment_method", "text"),
    ("failed_attempts", "smallint"),
    ("grace_until", "timestamptz"),
    ("due_at", "timestamptz"),
)
_SETS = ", ".join(f"{name} = v.{name}" for name, _ in _COLUMNS)
_ARRAYS = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMNS)
_NAMES = ", ".join(name for name, _ in _COLUMNS)
# Built from the constant column list above, never from input.
_UNNEST_SQL = text(
    f"UPDATE billing_subscriptions AS s SET {_SETS}, change_id = NULL, "  # noqa: S608
    "version = s.version + 1, updated_at = :now "
    f"FROM unnest(CAST(:user_id AS text[]), CAST(:version AS bigint[]), {_ARRAYS}) "
    f"AS v(user_id, version, {_NAMES}) "
    "WHERE s.user_id = v.user_id AND s.version = v.version AND s.change_id IS NULL "
    "RETURNING s.user_id"
)


def _apply_unnest(conn: Connection, transitions: Sequence[Transition], now: datetime) -> set[str]:
    """PostgreSQL: every compare-and-set of a batch in one statement (a billing run's 1,000
    renewals); the users whose row was still at its version come back."""
    params: dict[str, Any] = {"now": now, "user_id": [], "version": []}
    for name, _ in _COLUMNS:
        params[name] = []
    for t in transitions:
        assert t.before.version >= 1, "a row exists before it changes"
        params["user_id"].append(t.before.user_id)
        params["version"].append(t.before.version)
        for name, value in _row_values(t.after).items():
            params[name].append(value)
    return set(conn.execute(_UNNEST_SQL, params).scalars())


def _change_matches(change_id: str | None) -> Any:
    return T.c.change_id.is_(None) if change_id is None else T.c.change_id == change_id
