"""The delivery log: every delivery of an endpoint with its attempts, and replays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update

from ledger import InvalidRequest
from monetization.ids import UUID_RE
from monetization.webhooks.endpoints import Endpoints
from monetization.webhooks.errors import WebhookNotFound
from monetization.webhooks.model import (
    ATTEMPTS_SHOWN_MAX,
    PAGE_MAX,
    TRANSITIONS,
    Delivery,
    DeliveryStatus,
    WebhooksConfig,
)
from monetization.webhooks.store import attempt_from_row, begin_write, delivery_from_row
from monetization.webhooks.tables import webhooks_attempts as at
from monetization.webhooks.tables import webhooks_deliveries as dl
from monetization.webhooks.tables import webhooks_endpoints as ep


class DeliveryLog:
    def __init__(
        self,
        engine: Engine,
        endpoints: Endpoints,
        config: WebhooksConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine, self.endpoints, self.config, self.clock = engine, endpoints, config, clock

    def list(
        self,
        endpoint_id: str,
        owner: str | None = None,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        before_seq: int | None = None,
    ) -> tuple[list[Delivery], str | None]:
        """The endpoint's deliveries, newest event first; the cursor is the last seq."""
        self.endpoints.get(endpoint_id, owner)
        if type(limit) is not int or not 1 <= limit <= PAGE_MAX:
            raise InvalidRequest(f"limit must be within 1..{PAGE_MAX}")
        clauses = [dl.c.endpoint_id == endpoint_id]
        if status is not None:
            clauses.append(dl.c.status == DeliveryStatus(status).value)
        if before_seq is not None:
            clauses.append(dl.c.seq < before_seq)
        stmt = select(dl).where(*clauses).order_by(dl.c.seq.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        found = [delivery_from_row(r) for r in rows[:limit]]
        return found, (str(found[-1].seq) if len(rows) > limit else None)

    def get(self, endpoint_id: str, delivery_id: str, owner: str | None = None) -> Delivery:
        """One delivery with its latest attempts (at most ATTEMPTS_SHOWN_MAX), oldest first."""
        self.endpoints.get(endpoint_id, owner)
        if not isinstance(delivery_id, str) or not UUID_RE.fullmatch(delivery_id):
            raise WebhookNotFound("no such delivery")
        with self.engine.connect() as conn:
            row = conn.execute(
                select(dl).where(dl.c.id == delivery_id, dl.c.endpoint_id == endpoint_id)
            ).first()
            if row is None:
                raise WebhookNotFound(f"delivery {delivery_id} does not exist")
            tries = conn.execute(
                select(at)
                .where(at.c.delivery_id == delivery_id)
                .order_by(at.c.number.desc())
                .limit(ATTEMPTS_SHOWN_MAX)
            ).all()
        return delivery_from_row(row, tuple(attempt_from_row(t) for t in reversed(tries)))

    def replay(self, endpoint_id: str, delivery_id: str) -> Delivery:
        """Send the delivery again: pending now, with a fresh retry window. Being the oldest
        pending one of its endpoint, it goes out before newer events (seq order holds)."""
        current = self.get(endpoint_id, delivery_id)
        assert (current.status, "replay") in TRANSITIONS
        now = self.clock()
        with begin_write(self.engine) as conn:
            conn.execute(
                update(dl)
                .where(dl.c.id == delivery_id)
                .values(
                    status=DeliveryStatus.PENDING.value,
                    retry_until=now + timedelta(seconds=self.config.retry_window_s),
                )
            )
            conn.execute(
                update(ep).where(ep.c.id == endpoint_id).values(next_attempt_at=now, failures=0)
            )
        return self.get(endpoint_id, delivery_id)

    def pending_total(self) -> int:
        """Deliveries waiting for a 2xx over every live endpoint (``/metrics``' backlog): one
        look-up of the queue index per endpoint, so its cost follows the endpoints and the
        backlog, never the delivered history."""
        waiting = (
            select(func.count())
            .where(dl.c.endpoint_id == ep.c.id, dl.c.status == DeliveryStatus.PENDING.value)
            .scalar_subquery()
        )
        stmt = select(func.coalesce(func.sum(waiting), 0)).where(ep.c.deleted_at.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())
