"""The delivery worker: claims an endpoint, makes its deliveries, sends them in seq order.

Why deliveries are never sent twice at once: an endpoint is *claimed* before anything is
sent to it, in a short write transaction that picks a due endpoint nobody holds (on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so concurrent claimers pass each other by;
SQLite's write lock serializes them) and writes a lease (a random token and an expiry).
Sending happens outside any transaction; every write after it is guarded by the token and
renews the lease, and outcomes are written at least every ``lease_s / 3`` (a send is bounded
by ``timeout_s`` per phase, and ``lease_s`` >= 3 times ``timeout_s``). So another process
takes the endpoint over only from a process that died or stalled past its lease: then a
delivery may go out again (at least once), never two at once from healthy workers.

Why order holds: only the holder of an endpoint sends to it, and it always sends the
pending delivery of lowest seq first; a failure stops the round for that endpoint (the next
try starts from the same delivery, after a backoff). The 24 h window: after a failed try,
every pending delivery of the endpoint whose window has closed is given up (``failed``),
so an endpoint that stays down does not pile up an unbounded backlog.

Deliveries are made lazily, per endpoint, from the journal (``Ledger.events`` up to the
head read first: a consistent prefix) — at most ``fanout_batch`` per round and never more
than ``pending_max`` waiting.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, exists, func, insert, or_, select, update

from ledger import Entry, Ledger
from monetization.sealing import SealError
from monetization.webhooks.endpoints import Endpoints
from monetization.webhooks.errors import WebhookUrlRefused
from monetization.webhooks.events import EVENT_TYPES, event_bytes
from monetization.webhooks.model import (
    ERROR_MAX_CHARS,
    DeliveryStatus,
    Endpoint,
    RoundReport,
    WebhooksConfig,
    backoff_s,
)
from monetization.webhooks.sender import Sender, Sent
from monetization.webhooks.signing import SIGNATURE_HEADER, signature_header
from monetization.webhooks.store import begin_write, endpoint_from_row
from monetization.webhooks.tables import webhooks_attempts as at
from monetization.webhooks.tables import webhooks_deliveries as dl
from monetization.webhooks.tables import webhooks_endpoints as ep
from monetization.webhooks.targets import Resolver, Target, TargetPolicy, resolve

log = logging.getLogger(__name__)

PENDING = DeliveryStatus.PENDING.value
DELIVERY_HEADER = "Azora-Delivery"
SEQ_HEADER = "Azora-Event-Seq"
ACKS_PER_WRITE = 20  # successes written in one transaction (at most; and every lease_s / 3)


class LeaseLost(Exception):
    """Another process holds the endpoint now (this one stalled past its lease)."""


@dataclass(frozen=True, slots=True)
class Claim:
    endpoint: Endpoint
    token: str


@dataclass(frozen=True, slots=True)
class Queued:
    id: str
    seq: int
    entry_id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result, not yet written."""

    item: Queued
    sent: Sent
    at: datetime

    def attempt_row(self) -> dict[str, object]:
        return {
            "delivery_id": self.item.id, "number": self.item.attempts + 1, "at": self.at,
            "status_code": self.sent.status_code, "error": self.sent.error,
            "duration_ms": self.sent.duration_ms,
        }  # fmt: skip

    def delivery_values(self) -> dict[str, object]:
        values: dict[str, object] = {
            "attempts": self.item.attempts + 1, "last_attempt_at": self.at,
            "last_status_code": self.sent.status_code, "last_error": self.sent.error,
        }  # fmt: skip
        if self.sent.acknowledged:
            values |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": self.at}
        return values


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        endpoints: Endpoints,
        config: WebhooksConfig,
        *,
        sender: Callable[[], Sender],
        resolver: Callable[[], Resolver],
        clock: Callable[[], datetime],
    ) -> None:
        self.engine, self.ledger, self.endpoints, self.config = engine, ledger, endpoints, config
        self.policy = TargetPolicy(strict=config.strict)
        self._sender, self._resolver, self.clock = sender, resolver, clock

    # --- a round ---------------------------------------------------------------------------

    def run_once(self, max_endpoints: int = 100) -> RoundReport:
        """Serve due endpoints until none is left or ``max_endpoints`` were served."""
        report = RoundReport()
        head = self.ledger.head_seq()
        for _ in range(max_endpoints):
            claim = self.claim(head)
            if claim is None:
                break
            report = _add(report, self.serve(claim, head))
        return report

    def claim(self, head: int) -> Claim | None:
        """Lease a due endpoint that has events to deliver, or None."""
        now, token = self.clock(), secrets.token_hex(16)
        has_pending = exists().where(dl.c.endpoint_id == ep.c.id, dl.c.status == PENDING)
        stmt = (
            select(ep)
            .where(
                ep.c.deleted_at.is_(None),
                ep.c.next_attempt_at <= now,
                or_(ep.c.lease_until.is_(None), ep.c.lease_until <= now),
                or_(ep.c.scanned_seq < head, has_pending),
            )
            .order_by(ep.c.next_attempt_at, ep.c.id)
            .limit(1)
        )
        with begin_write(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=ep)
            row = conn.execute(stmt).first()
            if row is None:
                return None
            lease = {"lease_token": token, "lease_until": self._lease_end()}
            conn.execute(update(ep).where(ep.c.id == row.id).values(**lease))
        return Claim(endpoint_from_row(row), token)

    def serve(self, claim: Claim, head: int) -> RoundReport:
        """Make the endpoint's new deliveries, send them in order, release the claim."""
        try:
            self._fan_out(claim, head)
            return self._send_queue(claim)
        except LeaseLost:
            log.warning("webhook %s: lease lost, another process serves it", claim.endpoint.id)
            return RoundReport(endpoints=1)
        except SealError as unreadable:
            # Not the receiver's fault and nothing was sent: its deliveries stay pending, the
            # endpoint waits (others go on) until a key that opens its secret is configured.
            log.error("%s", unreadable)
            self._postpone(claim, timedelta(seconds=self.config.retry_max_s))
            return RoundReport(endpoints=1)
        finally:
            self._release(claim)

    # --- making deliveries -----------------------------------------------------------------

    def _fan_out(self, claim: Claim, head: int) -> None:
        endpoint = claim.endpoint
        if endpoint.scanned_seq >= head:
            return
        with self.engine.connect() as conn:
            waiting = conn.execute(
                select(func.count()).where(dl.c.endpoint_id == endpoint.id, dl.c.status == PENDING)
            ).scalar_one()
        room = min(self.config.fanout_batch, self.config.pending_max - int(waiting))
        if room <= 0:
            return
        kinds = list(endpoint.kinds) or None
        events = self.ledger.events(endpoint.scanned_seq, room, kinds, up_to_seq=head)
        scanned = events[-1].seq if len(events) == room else head
        now = self.clock()
        with begin_write(self.engine) as conn:
            self._guard(conn, claim, scanned_seq=scanned)
            if events:
                conn.execute(insert(dl), [self._delivery_row(endpoint, e, now) for e in events])

    def _delivery_row(self, endpoint: Endpoint, entry: Entry, now: datetime) -> dict[str, object]:
        window = timedelta(seconds=self.config.retry_window_s)
        return {
            "id": str(uuid.uuid4()), "endpoint_id": endpoint.id, "seq": entry.seq,
            "entry_id": entry.id, "type": EVENT_TYPES[entry.type], "kind": entry.kind,
            "status": PENDING, "attempts": 0, "created_at": now,
            "retry_until": max(entry.recorded_at + window, now), "last_attempt_at": None,
            "last_status_code": None, "last_error": None, "delivered_at": None,
        }  # fmt: skip

    # --- sending ---------------------------------------------------------------------------

    def _send_queue(self, claim: Claim) -> RoundReport:
        """Send the queue in seq order; outcomes are written in groups (a run of successes,
        then at most one failure), at least every ``lease_s / 3`` so the lease is renewed in
        time. A crash before a group is written sends its deliveries again: at least once."""
        queue = self._queue(claim.endpoint.id)
        entries = self.ledger.entries_by_ids([q.entry_id for q in queue]) if queue else {}
        secret = self.endpoints.secret(claim.endpoint.id)
        delivered, unwritten = 0, list[Outcome]()
        written_at = time.monotonic()
        for item in queue:
            sent = self._send(claim.endpoint, item, entries[item.entry_id], secret)
            unwritten.append(Outcome(item, sent, self.clock()))
            if not sent.acknowledged:
                given_up = self._record(claim, unwritten)
                return RoundReport(1, delivered, 1, given_up)
            delivered += 1
            if len(unwritten) >= ACKS_PER_WRITE or (
                time.monotonic() - written_at >= self.config.lease_s / 3
            ):
                self._record(claim, unwritten)
                unwritten, written_at = [], time.monotonic()
        if unwritten:
            self._record(claim, unwritten)
        return RoundReport(1, delivered, 0, 0)

    def _queue(self, endpoint_id: str) -> list[Queued]:
        stmt = (
            select(dl.c.id, dl.c.seq, dl.c.entry_id, dl.c.attempts)
            .where(dl.c.endpoint_id == endpoint_id, dl.c.status == PENDING)
            .order_by(dl.c.seq)
            .limit(self.config.sends_per_claim)
        )
        with self.engine.connect() as conn:
            return [
                Queued(r.id, int(r.seq), r.entry_id, int(r.attempts)) for r in conn.execute(stmt)
            ]

    def _send(self, endpoint: Endpoint, item: Queued, entry: Entry, secret: str) -> Sent:
        """One POST, signed now; a target refused by the policy (DNS moved to a private
        address since registration) is a failed attempt that reaches nobody."""
        try:
            target: Target = resolve(endpoint.url, self.policy, self._resolver())
        except WebhookUrlRefused as refused:
            return Sent(None, f"refused: {refused.detail}"[:ERROR_MAX_CHARS], 0)
        body = event_bytes(entry)
        timestamp = int(self.clock().timestamp())
        headers = {
            SIGNATURE_HEADER: signature_header(secret, timestamp, body),
            DELIVERY_HEADER: item.id,
            SEQ_HEADER: str(item.seq),
        }
        return self._sender().send(target, body, headers)

    def _record(self, claim: Claim, outcomes: list[Outcome]) -> int:
        """Log the attempts (successes, then at most one failure, the last). Delivered ones
        are done; after a failure the endpoint backs off and every pending delivery whose
        window has closed is given up (their count is returned)."""
        last = outcomes[-1]
        with begin_write(self.engine) as conn:
            if last.sent.acknowledged:
                self._guard(conn, claim, failures=0, next_attempt_at=last.at)
            else:
                failures = self._failures(conn, claim) + 1
                wait = timedelta(seconds=backoff_s(failures, self.config))
                self._guard(conn, claim, failures=failures, next_attempt_at=last.at + wait)
            conn.execute(insert(at), [o.attempt_row() for o in outcomes])
            for outcome in outcomes:
                conn.execute(
                    update(dl).where(dl.c.id == outcome.item.id).values(**outcome.delivery_values())
                )
            if last.sent.acknowledged:
                return 0
            closed = and_(
                dl.c.endpoint_id == claim.endpoint.id,
                dl.c.status == PENDING,
                dl.c.retry_until <= last.at,
            )
            result = conn.execute(
                update(dl).where(closed).values(status=DeliveryStatus.FAILED.value)
            )
            return int(result.rowcount)

    # --- the lease -------------------------------------------------------------------------

    def _lease_end(self) -> datetime:
        return self.clock() + timedelta(seconds=self.config.lease_s)

    def _guard(self, conn: Connection, claim: Claim, **values: object) -> None:
        """Write ``values`` to the endpoint and renew the lease, if it is still ours."""
        result = conn.execute(
            update(ep)
            .where(ep.c.id == claim.endpoint.id, ep.c.lease_token == claim.token)
            .values(lease_until=self._lease_end(), **values)
        )
        if result.rowcount != 1:
            raise LeaseLost(claim.endpoint.id)

    def _failures(self, conn: Connection, claim: Claim) -> int:
        found = conn.execute(select(ep.c.failures).where(ep.c.id == claim.endpoint.id)).scalar()
        return int(found or 0)

    def _postpone(self, claim: Claim, by: timedelta) -> None:
        with begin_write(self.engine) as conn:
            conn.execute(
                update(ep)
                .where(ep.c.id == claim.endpoint.id, ep.c.lease_token == claim.token)
                .values(next_attempt_at=self.clock() + by)
            )

    def _release(self, claim: Claim) -> None:
        with begin_write(self.engine) as conn:
            conn.execute(
                update(ep)
                .where(ep.c.id == claim.endpoint.id, ep.c.lease_token == claim.token)
                .values(lease_token=None, lease_until=None)
            )


def _add(a: RoundReport, b: RoundReport) -> RoundReport:
    return RoundReport(
        a.endpoints + b.endpoints,
        a.delivered + b.delivered,
        a.failed_attempts + b.failed_attempts,
        a.given_up + b.given_up,
    )
