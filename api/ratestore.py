"""The request rate limit shared by every process: one token bucket per principal in
PostgreSQL (the ``rate_buckets`` table, migration ``0110_rate_limits``).

A process does not ask the database on every request. It *leases* up to ``lease`` tokens at
once from the shared bucket (one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) and
spends them locally; only when its lease is used up does it ask again. A lease is taken from
the bucket when it is granted, so the tokens of all processes together never exceed what the
bucket hands out: over any window of ``T`` seconds a principal gets at most
``burst + rate * T`` requests, plus the tokens still leased before the window started, at
most ``lease`` per process (:func:`accepted_bound`). The other way round, a process may
refuse while another still holds unspent tokens of the same principal (at most ``lease``
each). ``lease`` is 50 ms of the rate, at most 1/20 of the burst, at least 1
(:func:`lease_size`): with the defaults (20,000/s, burst 40,000) one statement per 1,000
requests of a principal; at low rates one per request.

An empty bucket is remembered locally until it has refilled one token, so a client hammering
past its limit is refused without a database round trip. If the database cannot be reached,
each process falls back to its own in-process bucket (a warning is logged): the limit is
then per process again, never off.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import threading
import time
from collections.abc import Callable

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, text
from sqlalchemy.exc import SQLAlchemyError

from api.limits import RATE_BUCKETS_MAX, RateLimiter
from ledger import UTCDateTime

log = logging.getLogger(__name__)

LEASE_OF_RATE_S = 0.05  # a lease is this much of the sustained rate ...
LEASE_OF_BURST = 20  # ... and at most 1/20 of the burst
WARN_EVERY_S = 60.0

metadata = MetaData()

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("principal", String(160), primary_key=True),
    Column("tokens", Float, nullable=False),  # left in the bucket at `at`
    Column("granted", Integer, nullable=False),  # what the last statement handed out
    Column("at", UTCDateTime, nullable=False),
)  # UNLOGGED on PostgreSQL (the migration): lost on a crash, every bucket starts full

# The bucket refills at :rate up to :burst since `at`; a lease is as many whole tokens as
# asked and available (none below one). now() is the statement's start; `at` never goes
# back, so a statement that waited for the row lock refills nothing twice.
_AVAILABLE = (
    "least(CAST(:burst AS double precision), b.tokens + :rate * greatest(0.0,"
    " extract(epoch FROM now() - b.at)))"
)
_GRANT = "(CASE WHEN @A >= 1 THEN least(:want, floor(@A)) ELSE 0 END)"
LEASE_SQL = text(
    (
        "INSERT INTO rate_buckets AS b (principal, tokens, granted, at)"
        " VALUES (:principal, :burst - least(:want, :burst), least(:want, :burst), now())"
        " ON CONFLICT (principal) DO UPDATE SET tokens = @A - @G, granted = @G,"
        " at = greatest(b.at, now())"
        " RETURNING granted, tokens"
    )
    .replace("@G", _GRANT)
    .replace("@A", _AVAILABLE)
)
PRUNE_SQL = text("DELETE FROM rate_buckets WHERE at < now() - make_interval(secs => :full_s)")


def lease_size(rate_per_s: float, burst: int) -> int:
    """Tokens a process takes from the shared bucket at once."""
    return max(1, min(int(rate_per_s * LEASE_OF_RATE_S), burst // LEASE_OF_BURST))


def accepted_bound(rate_per_s: float, burst: int, window_s: float, processes: int) -> int:
    """Most requests one principal can get accepted over ``window_s`` by ``processes``."""
    return burst + math.floor(rate_per_s * window_s) + processes * lease_size(rate_per_s, burst)


class SharedRateLimiter:
    """:class:`api.limits.RateLimiter`'s contract (``acquire``), one bucket for all."""

    def __init__(
        self,
        engine: Engine,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert rate_per_s > 0 and burst >= 1
        self.engine, self.rate_per_s, self.burst, self.clock = engine, rate_per_s, burst, clock
        self.lease = lease_size(rate_per_s, burst)
        self.fallback = RateLimiter(rate_per_s, burst, clock)
        self._stock: dict[str, int] = {}  # leased tokens not spent yet
        self._empty_until: dict[str, float] = {}  # refused without asking until then
        self._pending: dict[str, concurrent.futures.Future[float]] = {}
        self._lock = threading.Lock()
        self._warned_at = -math.inf

    async def acquire(self, principal: str) -> float:
        """Spend one token; 0 if allowed, else the seconds until one is available."""
        while True:
            with self._lock:
                wait_s = self._take_local(principal)
                if wait_s is not None:
                    return wait_s
                pending = self._pending.get(principal)
                leader = pending is None
                if pending is None:
                    pending = self._pending[principal] = concurrent.futures.Future()
            if not leader:  # one lease at a time per principal: wait for it, then retry
                # Shielded: a follower given up (its client left) must not cancel the lease.
                wait_s = await asyncio.shield(asyncio.wrap_future(pending))
                if wait_s > 0:
                    return wait_s
                continue
            wait_s = 0.0
            try:
                wait_s = await asyncio.to_thread(self._refill, principal)
            finally:
                with self._lock:
                    del self._pending[principal]
                if not pending.done():
                    pending.set_result(wait_s)
            if wait_s > 0:
                return wait_s

    def _take_local(self, principal: str) -> float | None:
        """Under the lock: 0 when a leased token is spent, the wait when the bucket is known
        to be empty, None when the shared bucket must be asked."""
        stock = self._stock.get(principal, 0)
        if stock > 0:
            self._stock[principal] = stock - 1
            return 0.0
        until = self._empty_until.get(principal)
        if until is not None:
            now = self.clock()
            if now < until:
                return until - now
            del self._empty_until[principal]
        return None

    def _refill(self, principal: str) -> float:
        """Lease tokens into the local stock: 0 if some came, else the wait."""
        try:
            with self.engine.begin() as conn:
                granted, tokens = conn.execute(
                    LEASE_SQL,
                    {
                        "principal": principal,
                        "rate": self.rate_per_s,
                        "burst": self.burst,
                        "want": self.lease,
                    },
                ).one()
        except SQLAlchemyError as error:
            self._warn(error)
            wait_s = self.fallback.take(principal)
            if wait_s > 0:
                return wait_s
            granted, tokens = 1, 0.0  # the fallback's token, spent like a leased one
        with self._lock:
            if len(self._stock) + len(self._empty_until) >= RATE_BUCKETS_MAX:
                self._stock.clear()  # forgetting leased tokens only ever refuses more
                self._empty_until.clear()
            if granted >= 1:
                self._stock[principal] = self._stock.get(principal, 0) + int(granted)
                return 0.0
            wait_s = max(1.0 - float(tokens), 0.0) / self.rate_per_s
            self._empty_until[principal] = self.clock() + wait_s
            return max(wait_s, 1e-9)

    def prune(self) -> int:
        """Drop the buckets that have refilled (the same as no row at all); how many."""
        with self.engine.begin() as conn:
            result = conn.execute(PRUNE_SQL, {"full_s": self.burst / self.rate_per_s})
        return int(result.rowcount or 0)

    def _warn(self, error: SQLAlchemyError) -> None:
        now = self.clock()
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "the shared rate limit is unreachable (%s); limiting per process meanwhile",
                type(error).__name__,
            )
