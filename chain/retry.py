"""Bounded exponential backoff for RPC calls that fail for transport reasons."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from web3.exceptions import (
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    TooManyRequests,
)

from chain.errors import ChainUnavailable
from chain.redact import redact_text

T = TypeVar("T")
log = logging.getLogger(__name__)

# Failures of the transport, worth another try. Reverts and RPC errors with a meaning
# (nonce too low, insufficient funds, ...) are not here: retrying them cannot help.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ProviderConnectionError,
    TooManyRequests,
    RequestTimedOut,
    TimeExhausted,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries, sleeping ``initial_delay_s * 2**k`` capped at ``max_delay_s``."""

    attempts: int = 5
    initial_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def __post_init__(self) -> None:
        assert 1 <= self.attempts <= 100, f"attempts={self.attempts} outside [1, 100]"
        assert 0 <= self.initial_delay_s <= self.max_delay_s <= 600

    def delay_s(self, failed_attempts: int) -> float:
        return float(min(self.max_delay_s, self.initial_delay_s * 2 ** (failed_attempts - 1)))


NO_RETRY = RetryPolicy(attempts=1, initial_delay_s=0.0, max_delay_s=0.0)


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Runs ``fn``; on a transient failure retries per ``policy``, then raises ChainUnavailable."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except TRANSIENT_ERRORS as e:
            if attempt == policy.attempts:
                raise ChainUnavailable(
                    f"{what}: node unreachable after {attempt} tries: {redact_text(str(e))}"
                ) from None
            delay_s = policy.delay_s(attempt)
            log.warning(
                "%s failed (%s); retry %d in %.2fs", what, redact_text(str(e)), attempt, delay_s
            )
            sleep(delay_s)
    raise AssertionError("unreachable")  # pragma: no cover
