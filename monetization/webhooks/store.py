"""What every webhooks store shares: write transactions and row mapping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from ledger import WRITE_TXN
from monetization.webhooks.model import Attempt, Delivery, DeliveryStatus, Endpoint


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction (SQLite: the write lock taken at BEGIN, so writers queue)."""
    with engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
        yield conn


def endpoint_from_row(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        owner=row.owner,
        url=row.url,
        kinds=tuple(json.loads(row.kinds)),
        description=row.description,
        created_at=row.created_at,
        scanned_seq=int(row.scanned_seq),
        next_attempt_at=row.next_attempt_at,
        failures=int(row.failures),
        deleted_at=row.deleted_at,
    )


def delivery_from_row(row: Any, log: tuple[Attempt, ...] = ()) -> Delivery:
    return Delivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        seq=int(row.seq),
        entry_id=row.entry_id,
        type=row.type,
        kind=row.kind,
        status=DeliveryStatus(row.status),
        attempts=int(row.attempts),
        created_at=row.created_at,
        retry_until=row.retry_until,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        log=log,
    )


def attempt_from_row(row: Any) -> Attempt:
    return Attempt(row.number, row.at, row.status_code, row.error, int(row.duration_ms))
