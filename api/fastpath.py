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
from typing import NamedTuple

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import ApiContext
from api.deps import authenticate, rate_limited
from api.errors import (
    PROBLEM_MEDIA_TYPE,
    STATUS_BY_CODE,
    ApiProblem,
    ledger_code,
    ledger_problem,
    problem_response,
)
from api.observe import RequestObserver
from api.requestid import RequestIdMiddleware
from api.routers.entries import record_batch, record_entry
from api.schemas.entries import BatchCreate, EntryCreate
from api.security import Principal
from api.security import Scope as ApiScope
from ledger import IDEMPOTENCY_KEY_RE, LedgerError

log = logging.getLogger(__name__)

SINGLE_PATH = "/v1/entries"
BATCH_PATH = "/v1/entries/batch"
_PATHS = frozenset({SINGLE_PATH, BATCH_PATH})
_JSON = b"application/json"


class _Route(NamedTuple):
    """What the latency histogram labels a direct answer with (a route's ``path``)."""

    path: str


class LedgerApp(FastAPI):
    """The FastAPI application, with the write routes' direct path in front of it."""

    _direct_stack: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in _PATHS
            and not self.dependency_overrides
        ):
            if self._direct_stack is None:
                self._direct_stack = self._observed(self._direct)
            await self._direct_stack(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def _observed(self, app: ASGIApp) -> ASGIApp:
        """``app`` under the request-id and latency middleware the full application has
        (when the direct path hands over, the inner ones see the request already taken)."""
        latency = getattr(self.state, "latency", None)
        if latency is not None:
            app = RequestObserver(app, histogram=latency)
        return RequestIdMiddleware(app, log_access=self.state.api.config.access_log)

    async def _direct(self, scope: Scope, receive: Receive, send: Send) -> None:
        context: ApiContext = self.state.api
        scope["route"] = _Route(scope["path"])  # the full application replaces it
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
        response = await _answer(context, scope["path"], headers, body)
        if response is None:  # not the common case: the full application decides
            await super().__call__(scope, _replay(messages, receive), send)
            return
        await response(scope, receive, send)


async def _answer(
    context: ApiContext, path: str, headers: dict[bytes, bytes], body: bytes
) -> Response | None:
    """The response of the direct path, or None when the full application must answer."""
    try:
        if path == SINGLE_PATH:
            key = headers.get(b"idempotency-key", b"").decode("latin-1")
            if not key or not IDEMPOTENCY_KEY_RE.fullmatch(key):
                return None
            request = EntryCreate.model_validate_json(body).to_ledger()
        else:
            batch = BatchCreate.model_validate_json(body)
    except (ValidationError, LedgerError, ValueError):
        return None
    principal = await _writer(context, headers.get(b"authorization", b""))
    if principal is None:
        return None
    try:
        refusal = await rate_limited(context, principal)
        if refusal is not None:
            return problem_response(refusal.code, refusal.detail, headers=refusal.headers)
        if path == SINGLE_PATH:
            return await record_entry(context.ledger, request, principal.name, key)
        return await record_batch(context.ledger, batch, principal.name)
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


async def _writer(context: ApiContext, authorization: bytes) -> Principal | None:
    """The caller, if its bearer credentials are valid and hold ``entries:write``."""
    scheme, _, credentials = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return None
    try:
        principal = await authenticate(context, credentials)
    except ApiProblem:
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
