"""Webhooks' value types and bounds, free of I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KINDS_MAX = 64
DESCRIPTION_MAX_CHARS = 200
ERROR_MAX_CHARS = 500
PAGE_MAX = 500
ATTEMPTS_SHOWN_MAX = 100


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not yet acknowledged with a 2xx: tried (again) when due
    DELIVERED = "delivered"  # a 2xx answered it
    FAILED = "failed"  # given up: still failing when its retry window closed


# The transitions a delivery may make, and what makes them (replay: an admin's request).
TRANSITIONS: dict[tuple[DeliveryStatus, str], DeliveryStatus] = {
    (DeliveryStatus.PENDING, "acknowledged"): DeliveryStatus.DELIVERED,
    (DeliveryStatus.PENDING, "refused"): DeliveryStatus.PENDING,  # retried after a backoff
    (DeliveryStatus.PENDING, "window closed"): DeliveryStatus.FAILED,
    (DeliveryStatus.DELIVERED, "replay"): DeliveryStatus.PENDING,
    (DeliveryStatus.FAILED, "replay"): DeliveryStatus.PENDING,
    (DeliveryStatus.PENDING, "replay"): DeliveryStatus.PENDING,
}


@dataclass(frozen=True, slots=True)
class WebhooksConfig:
    """Bounds and schedule of deliveries. Units are in the names.

    ``strict``: production rules for targets (https, public addresses only). A failed
    delivery is retried after ``retry_base_s`` doubling up to ``retry_max_s``, until
    ``retry_window_s`` after its event was recorded (24 h); ``timeout_s`` bounds each phase
    of one request; ``lease_s`` is how long a claim on an endpoint lasts without renewal.
    """

    strict: bool = True
    retry_base_s: float = 10.0
    retry_max_s: float = 3600.0
    retry_window_s: float = 86400.0
    timeout_s: float = 10.0
    lease_s: float = 60.0
    fanout_batch: int = 500
    pending_max: int = 10_000
    sends_per_claim: int = 100
    endpoints_per_owner: int = 100

    def __post_init__(self) -> None:
        assert 0 < self.retry_base_s <= self.retry_max_s <= self.retry_window_s
        assert self.timeout_s > 0 and self.lease_s >= 3 * self.timeout_s, "a lease outlives sends"
        assert 1 <= self.fanout_batch <= self.pending_max and self.sends_per_claim >= 1


def backoff_s(failures: int, config: WebhooksConfig) -> float:
    """The wait after the ``failures``-th failure in a row (1, 2, ...): base * 2^(n-1), capped."""
    assert failures >= 1
    return float(min(config.retry_max_s, config.retry_base_s * 2.0 ** min(failures - 1, 60)))


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    owner: str
    url: str
    kinds: tuple[str, ...]  # empty: every kind
    description: str
    created_at: datetime
    scanned_seq: int
    next_attempt_at: datetime
    failures: int  # in a row; 0 once a delivery succeeds
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    endpoint_id: str
    seq: int
    entry_id: str
    type: str
    kind: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    retry_until: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    log: tuple[Attempt, ...] = ()


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What one delivery round did."""

    endpoints: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
