"""Typed errors: every problem (RFC 9457) the API answers, raised as an :class:`AzoraError`
subclass chosen by its ``type`` code, else by its status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROBLEM_BASE = "https://azora.dev/problems/"


class AzoraError(Exception):
    """A problem (RFC 9457) answered by the API; ``code`` is the last segment of its type."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        self.type = str(problem.get("type", ""))
        self.code = self.type.removeprefix(PROBLEM_BASE) if self.type else f"http-{status}"
        self.detail = str(problem.get("detail", ""))
        # The request's id (X-Request-Id): quote it to the operators, who find it in the logs.
        self.request_id = problem.get("request_id")
        super().__init__(f"{status} {self.code}: {self.detail}")


class TransportFailure(AzoraError):
    """No answer after every retry (connection refused, timeouts...)."""


class BadRequest(AzoraError):
    pass


class Unauthorized(AzoraError):
    pass


class Forbidden(AzoraError):
    pass


class NotFound(AzoraError):
    pass


class Conflict(AzoraError):
    pass


class InsufficientFunds(Conflict):
    pass


class IdempotencyConflict(Conflict):
    pass


class AccountExists(Conflict):
    pass


class HoldNotPending(Conflict):
    pass


class LimitExceeded(Conflict):
    pass


class NotAnchored(Conflict):
    """No confirmed anchor covers the entry yet: retry after ``retry_after_s``."""

    @property
    def retry_after_s(self) -> int | None:
        value = self.problem.get("retry_after_s")
        return value if isinstance(value, int) else None


class OutOfStock(Conflict):
    pass


class RedemptionStateConflict(Conflict):
    pass


class MissingIdempotencyKey(BadRequest):
    pass


class InvalidRequest(AzoraError):
    pass


class CapReached(InvalidRequest):
    pass


class UnknownEventType(InvalidRequest):
    pass


class InvalidAmount(InvalidRequest):
    pass


class UnknownAccount(InvalidRequest):
    pass


class AssetMismatch(InvalidRequest):
    pass


class PayloadTooLarge(AzoraError):
    pass


class RateLimited(AzoraError):
    pass


class ServerError(AzoraError):
    pass


ERRORS_BY_CODE: dict[str, type[AzoraError]] = {
    "insufficient-funds": InsufficientFunds,
    "idempotency-conflict": IdempotencyConflict,
    "account-exists": AccountExists,
    "hold-not-pending": HoldNotPending,
    "limit-exceeded": LimitExceeded,
    "invalid-amount": InvalidAmount,
    "unknown-account": UnknownAccount,
    "asset-mismatch": AssetMismatch,
    "not-anchored": NotAnchored,
    "out-of-stock": OutOfStock,
    "redemption-state-conflict": RedemptionStateConflict,
    "missing-idempotency-key": MissingIdempotencyKey,
    "cap-reached": CapReached,
    "unknown-event-type": UnknownEventType,
}
ERRORS_BY_STATUS: dict[int, type[AzoraError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
}


def error_for(status: int, problem: Mapping[str, Any]) -> AzoraError:
    code = str(problem.get("type", "")).removeprefix(PROBLEM_BASE)
    cls = ERRORS_BY_CODE.get(code) or ERRORS_BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else AzoraError
    return cls(status, problem)
