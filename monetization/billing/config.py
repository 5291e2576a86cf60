"""Billing's configuration values, given by the composition root (never read here)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RETRY_DAYS = (1, 3, 5, 7)


@dataclass(frozen=True, slots=True)
class BillingConfig:
    """``retry_days``: after a failed renewal, retries this many days after the period's
    end; the last one is the end of the grace period (``grace_days``): if it fails too, the
    subscription falls back to ``free``."""

    grace_days: int = 7
    retry_days: tuple[int, ...] = DEFAULT_RETRY_DAYS
    feature_cache_ttl_s: float = 300.0
    run_batch_size: int = 1000
    # A paid change left half-done (a crash) is finished by the next caller after this.
    stale_change_s: float = 120.0

    def __post_init__(self) -> None:
        assert 1 <= self.grace_days <= 60, self.grace_days
        assert self.retry_days, "at least one retry"
        assert list(self.retry_days) == sorted(set(self.retry_days)), self.retry_days
        assert self.retry_days[0] > 0 and self.retry_days[-1] <= self.grace_days, self.retry_days
        assert 0 <= self.feature_cache_ttl_s <= 3600, self.feature_cache_ttl_s
        assert 1 <= self.run_batch_size <= 1000, self.run_batch_size
