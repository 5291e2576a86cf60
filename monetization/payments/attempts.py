"""The log of charge attempts: one row per provider idempotency key, its latest outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monetization.payments.tables import payments_attempts

INSERT_CHUNK = 1000


class AttemptStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    UNAVAILABLE = "unavailable"
    REFUNDED = "refunded"  # captured, then refunded in full


@dataclass(frozen=True, slots=True)
class Attempt:
    key: str
    customer: str
    amount: int
    currency: str
    payment_method: str
    purpose: str
    status: AttemptStatus
    charge_id: str | None = None
    entry_id: str | None = None
    refunded: int = 0
    at: datetime | None = None  # when it was attempted (default: now)


@dataclass(frozen=True, slots=True)
class AttemptCounts:
    attempted: int
    succeeded: int


def _upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert, or move an existing key to its newer outcome (a retry with the same key)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(payments_attempts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[payments_attempts.c.idempotency_key],
        set_={
            "status": stmt.excluded.status,
            "charge_id": stmt.excluded.charge_id,
            "entry_id": func.coalesce(stmt.excluded.entry_id, payments_attempts.c.entry_id),
            "updated_at": stmt.excluded.updated_at,
        },
        # A captured charge stays captured whatever a later replay says.
        where=and_(
            payments_attempts.c.status != AttemptStatus.SUCCEEDED.value,
            payments_attempts.c.status != AttemptStatus.REFUNDED.value,
        ),
    )
    conn.execute(stmt, rows)  # executemany: one compiled statement, batched by the driver


def _upsert_all(conn: Connection, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), INSERT_CHUNK):
        _upsert(conn, rows[i : i + INSERT_CHUNK])


class AttemptLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self, attempts: Sequence[Attempt], now: datetime, *, conn: Connection | None = None
    ) -> None:
        """Upsert ``attempts``: in ``conn``'s transaction when given, else in one of its own."""
        rows = [
            {
                "idempotency_key": a.key,
                "customer": a.customer,
                "amount_cents": a.amount,
                "currency": a.currency,
                "payment_method": a.payment_method,
                "purpose": a.purpose,
                "status": a.status.value,
                "charge_id": a.charge_id,
                "entry_id": a.entry_id,
                "refunded_cents": 0,
                "attempted_at": a.at or now,
                "updated_at": now,
            }
            for a in attempts
        ]
        if conn is not None:
            _upsert_all(conn, rows)
            return
        with self._engine.begin() as own:
            _upsert_all(own, rows)

    def by_charge(self, charge_id: str) -> Attempt | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(payments_attempts).where(payments_attempts.c.charge_id == charge_id)
            ).first()
        return None if row is None else _attempt(row)

    def by_key(self, key: str) -> Attempt | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(payments_attempts).where(payments_attempts.c.idempotency_key == key)
            ).first()
        return None if row is None else _attempt(row)

    def mark_refunded(self, key: str, refunded_total: int, now: datetime) -> None:
        """Raise the refunded total (never lower it); full refunds mark the attempt."""
        table = payments_attempts
        with self._engine.begin() as conn:
            conn.execute(
                update(table)
                .where(
                    and_(table.c.idempotency_key == key, table.c.refunded_cents < refunded_total)
                )
                .values(refunded_cents=refunded_total, updated_at=now)
            )
            conn.execute(
                update(table)
                .where(and_(table.c.idempotency_key == key,
                            table.c.refunded_cents == table.c.amount_cents))
                .values(status=AttemptStatus.REFUNDED.value)
            )  # fmt: skip

    def mark_succeeded(self, key: str, charge_id: str, now: datetime) -> bool:
        """A capture the provider confirmed later (a webhook); True if it changed a row."""
        table = payments_attempts
        with self._engine.begin() as conn:
            done = conn.execute(
                update(table)
                .where(and_(table.c.idempotency_key == key,
                            table.c.status == AttemptStatus.UNAVAILABLE.value))
                .values(status=AttemptStatus.SUCCEEDED.value, charge_id=charge_id, updated_at=now)
            )  # fmt: skip
        return bool(done.rowcount)

    def counts(self, since: datetime, until: datetime) -> AttemptCounts:
        """Charges first attempted in ``[since, until)``: how many, how many captured."""
        table = payments_attempts
        captured = table.c.status.in_([AttemptStatus.SUCCEEDED.value, AttemptStatus.REFUNDED.value])
        with self._engine.connect() as conn:
            row = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((captured, 1), else_=0)), 0),
                ).where(and_(table.c.attempted_at >= since, table.c.attempted_at < until))
            ).one()
        return AttemptCounts(int(row[0]), int(row[1]))


def _attempt(row: Any) -> Attempt:
    return Attempt(
        row.idempotency_key,
        row.customer,
        int(row.amount_cents),
        row.currency,
        row.payment_method,
        row.purpose,
        AttemptStatus(row.status),
        row.charge_id,
        row.entry_id,
        int(row.refunded_cents),
    )
