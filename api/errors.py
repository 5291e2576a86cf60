"""RFC 9457 problem details: the one place that maps failures to HTTP statuses.

Every error the API returns is ``application/problem+json`` with a stable ``type`` URI
ending in a code (``.../insufficient-funds``). Ledger errors carry that code already
(:attr:`ledger.LedgerError.code`); the HTTP layer adds its own (unauthorized, rate-limited,
...). :data:`STATUS_BY_CODE` is the whole mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.requestid import current_request_id
from ledger import LedgerError

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://azora.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
UNAVAILABLE_DETAIL = "the database is unavailable; retry with the same Idempotency-Key"
RETRY_AFTER_S = "1"

STATUS_BY_CODE: dict[str, int] = {
    # ledger: the request is malformed or names what does not exist (nothing written)
    "invalid-request": 422,
    "invalid-amount": 422,
    "unknown-asset": 422,
    "invalid-account": 422,
    "invalid-entry": 422,
    "unknown-account": 422,
    "asset-mismatch": 422,
    "invalid-id": 422,
    "invalid-text": 422,
    "invalid-time": 422,
    "unstorable": 422,
    # ledger: valid, but conflicts with the ledger's state (nothing written)
    "conflict": 409,
    "insufficient-funds": 409,
    "idempotency-conflict": 409,
    "account-exists": 409,
    "hold-not-pending": 409,
    "not-reversible": 409,
    "hold-owned-by-domain": 409,
    # rewards (monetization/rewards/errors.py)
    "cap-reached": 422,
    "unknown-event-type": 422,
    "invalid-redemption": 422,
    "unknown-item": 422,
    "out-of-stock": 409,
    "redemption-state-conflict": 409,
    "transfers-disabled": 409,
    "transfer-limit-reached": 409,
    "limit-exceeded": 409,
    "not-anchored": 409,
    "not-found": 404,
    "unavailable": 503,
    # billing and payments (monetization/billing/errors.py, monetization/payments/errors.py)
    "unknown-plan": 422,
    "invalid-payment-method": 422,
    "subscription-state-conflict": 409,
    "subscription-busy": 409,
    "payment-declined": 402,
    "payment-provider-unavailable": 503,
    "payment-error": 502,
    "webhook-signature-invalid": 400,
    # marketplace (monetization/marketplace/errors.py)
    "invalid-course": 422,
    "invalid-review": 422,
    "invalid-cursor": 422,
    "plan-required": 409,
    "publish-limit-reached": 409,
    "course-state-conflict": 409,
    "already-purchased": 409,
    "own-course": 409,
    "purchase-in-progress": 409,
    "refund-window-closed": 409,
    "purchase-state-conflict": 409,
    "not-a-buyer": 403,
    "already-reviewed": 409,
    "payout-state-conflict": 409,
    "material-too-large": 413,
    "unsupported-material": 415,
    # enterprise licensing (monetization/licensing/errors.py; org roles: api/policy.py)
    "org-exists": 409,
    "seat-limit-reached": 409,
    "last-owner": 409,
    "usage-limit-exceeded": 409,
    "invalid-license": 422,
    "domain-taken": 409,
    "domain-not-verified": 409,
    "dns-unavailable": 503,
    "ticket-state-conflict": 409,
    "signing-key-mismatch": 500,
    "org-role-required": 403,
    # webhooks (monetization/webhooks/errors.py)
    "webhook-url-refused": 422,
    "webhook-limit-reached": 409,
    # HTTP layer
    "bad-request": 400,
    "missing-idempotency-key": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "method-not-allowed": 405,
    "payload-too-large": 413,
    "unsupported-media-type": 415,
    "rate-limited": 429,
    "internal-error": 500,
    "ledger-error": 500,  # the root class itself: a bug, never raised on purpose
}

TITLES: dict[str, str] = {
    "invalid-request": "The request is invalid",
    "invalid-amount": "The amount is invalid",
    "unknown-asset": "Unknown asset",
    "invalid-account": "The account is invalid",
    "invalid-entry": "The entry is invalid",
    "unknown-account": "Unknown account",
    "asset-mismatch": "The asset does not match the account",
    "invalid-id": "The id does not match its pattern",
    "invalid-text": "The text holds a NUL character or a lone surrogate",
    "invalid-time": "The instant is outside the calendar in UTC or has no timezone",
    "unstorable": "The database cannot store a value of the request",
    "conflict": "Conflict with the ledger's state",
    "insufficient-funds": "Insufficient funds",
    "idempotency-conflict": "The idempotency key was used for another request",
    "account-exists": "The account exists with other settings",
    "hold-not-pending": "The hold is no longer pending",
    "not-reversible": "The entry cannot be reversed",
    "hold-owned-by-domain": "The hold is resolved through the resource that owns it",
    "cap-reached": "The daily cap of this earning rule is reached",
    "unknown-event-type": "No earning rule for this event type",
    "invalid-redemption": "The redemption request is invalid",
    "unknown-item": "Unknown catalog item",
    "out-of-stock": "The item is out of stock",
    "redemption-state-conflict": "The redemption is in another state",
    "transfers-disabled": "Gifts between users are switched off",
    "transfer-limit-reached": "The daily gift limit is reached",
    "limit-exceeded": "A limit would be exceeded",
    "not-anchored": "The entry is not anchored yet",
    "not-found": "Not found",
    "unavailable": "The ledger is unavailable",
    "unknown-plan": "Unknown plan",
    "invalid-payment-method": "The payment method is invalid",
    "subscription-state-conflict": "The subscription is in another state",
    "subscription-busy": "Another change of this subscription is in progress",
    "payment-declined": "The payment was declined",
    "payment-provider-unavailable": "The payment provider is unavailable",
    "payment-error": "The payment failed",
    "webhook-signature-invalid": "The webhook signature is invalid",
    "invalid-course": "The course is invalid",
    "invalid-review": "The review is invalid",
    "invalid-cursor": "The cursor was not given out by this listing",
    "plan-required": "The instructor's plan does not allow this",
    "publish-limit-reached": "The plan's limit of published courses is reached",
    "course-state-conflict": "The course is in another state",
    "already-purchased": "The course was already bought",
    "own-course": "Instructors have access to their own courses",
    "purchase-in-progress": "The same purchase is being processed",
    "refund-window-closed": "The refund window has closed",
    "purchase-state-conflict": "The purchase is in another state",
    "not-a-buyer": "Only buyers of the course may do this",
    "already-reviewed": "The course was already reviewed by this buyer",
    "payout-state-conflict": "The payout is in another state",
    "material-too-large": "The material is too large",
    "unsupported-material": "The material's type is not allowed",
    "org-exists": "The organization exists with another name or owner",
    "seat-limit-reached": "Every seat of the organization's license is taken",
    "last-owner": "The organization must keep an owner",
    "usage-limit-exceeded": "The month's usage limit of the license would be exceeded",
    "invalid-license": "The license request breaks its tier's rules",
    "domain-taken": "Another organization verified this domain",
    "domain-not-verified": "The domain's TXT record was not found",
    "dns-unavailable": "DNS did not answer",
    "ticket-state-conflict": "The ticket cannot change to that status",
    "signing-key-mismatch": "The license signing secret does not match the active key",
    "org-role-required": "Your role in the organization does not allow this",
    "webhook-url-refused": "The webhook URL is refused",
    "webhook-limit-reached": "The most webhooks allowed are registered",
    "bad-request": "Bad request",
    "missing-idempotency-key": "The Idempotency-Key header is required",
    "unauthorized": "Authentication is required",
    "forbidden": "The credentials lack a scope this needs",
    "method-not-allowed": "Method not allowed",
    "payload-too-large": "The request body is too large",
    "unsupported-media-type": "Unsupported media type",
    "rate-limited": "Too many requests",
    "internal-error": "Internal error",
    "ledger-error": "Internal ledger error",
}

_CODE_BY_HTTP_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "rate-limited",
}


class ApiProblem(Exception):
    """A failure of the HTTP layer itself (auth, limits, headers), raised from anywhere."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        assert code in STATUS_BY_CODE, code
        super().__init__(detail)
        self.code, self.detail = code, detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]


def ledger_code(error: LedgerError) -> str:
    """The mapped code of ``error``, falling back along its class hierarchy."""
    for cls in type(error).__mro__:
        code = getattr(cls, "code", None)
        if isinstance(code, str) and code in STATUS_BY_CODE:
            return code
    return "internal-error"


def problem_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The problem document of ``code``; inside a request, with its ``request_id``."""
    body = {
        "type": PROBLEM_BASE + code,
        "title": TITLES[code],
        "status": STATUS_BY_CODE[code],
        "detail": detail,
        **extra,
    }
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    return body


def ledger_problem(error: LedgerError) -> dict[str, Any]:
    """The problem body of a ledger refusal (also used per item in batch results)."""
    extra: dict[str, Any] = {}
    account_id = getattr(error, "account_id", "")
    if account_id:
        extra["account_id"] = account_id
    # Domain refusals may name the state they met (e.g. a redemption's status that won).
    extra.update(getattr(error, "problem_fields", None) or {})
    return problem_body(ledger_code(error), error.detail, **extra)


def problem_response(
    code: str, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem_body(code, detail, **extra),
        status_code=STATUS_BY_CODE[code],
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _missing_idempotency_key(errors: Sequence[Any]) -> bool:
    return any(
        isinstance(e, Mapping)
        and e.get("type") == "missing"
        and tuple(e.get("loc", ())) == ("header", "Idempotency-Key")
        for e in errors
    )


def _undecodable_body(errors: Sequence[Any]) -> bool:
    return any(isinstance(e, Mapping) and e.get("type") == "json_invalid" for e in errors)


def _validation_code(errors: Sequence[Any]) -> str:
    for error in errors:
        loc = error.get("loc", ()) if isinstance(error, Mapping) else ()
        if loc and loc[-1] == "amount":
            return "invalid-amount"
    return "invalid-request"


def _only_in_path(errors: Sequence[Any]) -> bool:
    return bool(errors) and all(
        isinstance(e, Mapping) and tuple(e.get("loc", ()))[:1] == ("path",) for e in errors
    )


def _public_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Only location and message: pydantic's ``input``/``ctx`` may echo huge or odd values.
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in errors[:20]
        if isinstance(e, Mapping)
    ]


def database_unreachable(error: DBAPIError) -> bool:
    """The database did not answer (down, restarting, failing over, connection lost), as
    opposed to refusing a statement: an operational or interface error, or a connection the
    pool invalidated."""
    return error.connection_invalidated or isinstance(error, (OperationalError, InterfaceError))


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a problem response."""

    @app.exception_handler(LedgerError)
    async def _ledger(_request: Request, error: LedgerError) -> JSONResponse:
        code = ledger_code(error)
        if STATUS_BY_CODE[code] >= 500:
            log.error("ledger error: %s", error.detail)
        return JSONResponse(
            ledger_problem(error), STATUS_BY_CODE[code], media_type=PROBLEM_MEDIA_TYPE
        )

    @app.exception_handler(ApiProblem)
    async def _api(_request: Request, error: ApiProblem) -> JSONResponse:
        return problem_response(error.code, error.detail, headers=error.headers, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = error.errors()
        if _only_in_path(errors):
            # An id outside its pattern names nothing that could exist: 404, like any
            # missing resource (and no echo of what was sent).
            names = sorted({str(e["loc"][1]) for e in errors if len(e.get("loc", ())) > 1})
            return problem_response("not-found", f"no such resource ({', '.join(names)})")
        if _missing_idempotency_key(errors):
            return problem_response("missing-idempotency-key", "send an Idempotency-Key header")
        if _undecodable_body(errors):
            return problem_response(
                "bad-request", "the body is not JSON (UTF-8): it could not be decoded"
            )
        code = _validation_code(errors)
        first = _public_errors(errors)
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in first[:3])
        return problem_response(code, detail or "invalid request", errors=first)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _CODE_BY_HTTP_STATUS.get(error.status_code, "bad-request")
        detail = error.detail if isinstance(error.detail, str) else TITLES[code]
        return problem_response(code, detail, headers=error.headers)

    @app.exception_handler(DBAPIError)
    async def _database(_request: Request, error: DBAPIError) -> JSONResponse:
        if not database_unreachable(error):
            log.exception("database error", exc_info=error)
            return problem_response("internal-error", "an unexpected error occurred")
        # The server went away (a restart, a failover, a dropped connection): nothing this
        # request did was acknowledged, and the same request again, with the same
        # Idempotency-Key, is safe. The driver's text stays in the log.
        log.warning("database unavailable: %s", type(error.orig).__name__)
        return problem_response(
            "unavailable", UNAVAILABLE_DETAIL, headers={"Retry-After": RETRY_AFTER_S}
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return problem_response("internal-error", "an unexpected error occurred")
