"""The write routes' direct path: ``POST /v1/entries`` and ``/v1/entries/batch`` answered
without FastAPI's routing, dependency solving and middleware stack.

At a thousand requests per second and more, those layers (routing, a dozen dependencies
solved per request, five middlewares each wrapping ``send``) cost more CPU than parsing,
deciding and committing the entry itself. :class:`LedgerApp` checks every request for the
common case first: a declared JSON body within the size limit that parses and validates,
valid bearer credentials holding ``entries:write``, a valid ``Idempotency-Key`` (single
entries). Only then does it take a rate token and call the same code the routes call
(:func:`api.routers.entries.record_entry` / ``record_batch``).

Anything else (no or bad credentials, a missing header, a body that does not validate, a
chunked or oversized body, overridden dependencies in tests) goes to the full FastAPI
application with the body replayed, untouched: every refusal is the one the routes give,
by construction. Nothing with a side effect (the rate token, the ledger) happens before
that decision, so a request is never counted or written twice.
"""

from __future__ import annotations

import logging
import time
from functools import cached_property
from typing import NamedTuple

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from api.context import ApiContext
from api.deps import authenticate, rate_limited
from api.errors import (
    PROBLEM_MEDIA_TYPE,
    STATUS_BY_CODE,
    ledger_code,
    ledger_problem,
    problem_response,
)
from api.observe import LatencyHistogram
from api.requestid import enter_request, leave_request, log_access
from api.routers.entries import record_batch, record_entry
from api.schemas.entries import BatchCreate, EntryCreate
from api.security import Principal
from api.security import Scope as ApiScope
from ledger import IDEMPOTENCY_KEY_RE, LedgerError, NewEntry

log = logging.getLogger(__name__)

SINGLE_PATH = "/v1/entries"
BATCH_PATH = "/v1/entries/batch"
_PATHS = frozenset({SINGLE_PATH, BATCH_PATH})
_JSON = b"application/json"


class LedgerApp(FastAPI):
    """The FastAPI application, with the write routes' direct path in front of it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in _PATHS
            and not self.dependency_overrides
        ):
            await self._direct(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _direct(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the common case here, with the request id and the latency the full
        application's middleware would give it; hand anything else to the full application
        (its middleware then does both)."""
        started = time.perf_counter()
        context: ApiContext = self.state.api  # (State's __getattr__: once per request)
        headers = _headers(scope)
        declared = b"" if headers is None else headers.get(b"content-length", b"")
        content_type = b"" if headers is None else headers.get(b"content-type", b"")
        if (
            headers is None
            or not declared.isdigit()
            or int(declared) > context.config.max_body_bytes
            or b"transfer-encoding" in headers
            or content_type.split(b";", 1)[0].strip().lower() != _JSON
            or (b"origin" in headers and context.config.cors_origins)  # CORS: full app
        ):
            await super().__call__(scope, receive, send)  # the size limit and the rest
            return
        body, messages = await _read_body(receive)
        parsed = _parse(scope["path"], headers, body)
        principal = None if parsed is None else await _writer(context, headers)
        if parsed is None or principal is None:  # not the common case: the full app decides
            await super().__call__(scope, _replay(messages, receive), send)
            return
        request_id, token = enter_request(headers.get(b"x-request-id"))
        status = 500
        try:
            response = await _answer(context, parsed, principal)
            status = response.status_code
            # What Response.__call__ and the middleware would send, without their wrappers.
            raw_headers = [*response.raw_headers, (b"x-request-id", request_id.encode())]
            await send({"type": "http.response.start", "status": status, "headers": raw_headers})
            await send({"type": "http.response.body", "body": response.body})
        finally:
            self._observe(context, scope, status, started)
            leave_request(token)

    @cached_property
    def _latency(self) -> LatencyHistogram | None:
        """The latency histogram (set when the application is built, before it serves)."""
        return getattr(self.state, "latency", None)

    def _observe(self, context: ApiContext, scope: Scope, status: int, started: float) -> None:
        latency = self._latency
        if latency is not None:
            latency.observe_request("POST", scope["path"], status, time.perf_counter() - started)
        if context.config.access_log:
            log_access(scope, status, started)


class _Single(NamedTuple):
    request: NewEntry
    key: str


def _parse(path: str, headers: dict[bytes, bytes], body: bytes) -> _Single | BatchCreate | None:
    """The request of the direct path, or None when the full application must answer."""
    try:
        if path == SINGLE_PATH:
            key = headers.get(b"idempotency-key", b"").decode("latin-1")
            if not key or not IDEMPOTENCY_KEY_RE.fullmatch(key):
                return None
            return _Single(EntryCreate.model_validate_json(body).to_ledger(), key)
        return BatchCreate.model_validate_json(body)
    except (ValidationError, LedgerError, ValueError):
        return None


async def _answer(
    context: ApiContext, parsed: _Single | BatchCreate, principal: Principal
) -> Response:
    """The direct path's response to a parsed request of an authorized writer."""
    try:
        refusal = await rate_limited(context, principal)
        if refusal is not None:
            return problem_response(refusal.code, refusal.detail, headers=refusal.headers)
        if isinstance(parsed, _Single):
            return await record_entry(context.ledger, parsed.request, principal.name, parsed.key)
        return await record_batch(context.ledger, parsed, principal.name)
    except LedgerError as error:  # as the routes' exception handler answers it
        code = ledger_code(error)
        if STATUS_BY_CODE[code] >= 500:
            log.error("ledger error: %s", error.detail)
        return JSONResponse(
            ledger_problem(error), STATUS_BY_CODE[code], media_type=PROBLEM_MEDIA_TYPE
        )
    except Exception as error:  # as the catch-all handler answers it
        log.exception("unhandled error", exc_info=error)
        return problem_response("internal-error", "an unexpected error occurred")


async def _writer(context: ApiContext, headers: dict[bytes, bytes]) -> Principal | None:
    """The caller, if its bearer credentials are valid and hold ``entries:write``; None
    also when checking them failed (a database error): the full application answers that
    the way it answers it everywhere."""
    authorization = headers.get(b"authorization", b"")
    scheme, _, credentials = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return None
    try:
        principal = await authenticate(context, credentials)
    except Exception:  # ApiProblem, or the key store unavailable: nothing happened yet
        return None
    if principal.is_user or not principal.has(ApiScope.ENTRIES_WRITE):
        return None
    return principal


def _headers(scope: Scope) -> dict[bytes, bytes] | None:
    """Request headers by lower-case name; None when one repeats (left to the full app)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        lower = name.lower()
        if lower in found:
            return None
        found[lower] = value
    return found


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay
