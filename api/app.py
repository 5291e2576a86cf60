"""The FastAPI application over an :class:`api.context.ApiContext`.

``create_app`` builds nothing but the HTTP layer: the services come from the composition
root (``azora/bootstrap.py``), which also says what runs beside the API (``lifecycle``:
anchoring, maintenance). ``uvicorn azora.asgi:create_app --factory`` serves it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware

from api.context import ApiContext, Lifecycle
from api.deps import idempotency_key
from api.errors import install_problem_handlers
from api.fastpath import LedgerApp
from api.limits import BodySizeLimit
from api.observe import LatencyHistogram, RequestObserver
from api.requestid import RequestIdMiddleware
from api.routers import ROUTERS
from api.routers.materials import UPLOAD_OVERHEAD_BYTES, UPLOAD_PATH
from api.routers.pages import ASSETS_PATH, docs_assets
from api.schemas.common import codes_of, problems

DESCRIPTION = """\
Azora Ledger: an append-only, double-entry ledger for USD and AZR reward tokens.

* **Auth**: `Authorization: Bearer <API key or user token>`. API keys carry scopes
  (`ledger:read`, `entries:write`, `events:read`, `admin`); a user token reaches only
  `user:{id}:...` accounts.
* **Amounts** are decimal strings in whole units (`"9.99"`), never JSON numbers.
* **Idempotency**: every value-moving POST carries an `Idempotency-Key` header, required
  (without it: 400 `missing-idempotency-key`) unless the route says optional; batch entries
  carry `idempotency_key` each. A retry with the same key and body gets the original answer
  (header `Idempotent-Replayed: true`); another body, 409 `idempotency-conflict`. A refused
  request (4xx) leaves its key free.
* **Bodies** are JSON (UTF-8): one that cannot be decoded is 400 `bad-request`.
* **Errors** are RFC 9457 `application/problem+json` with a stable `type`
  (`https://azora.dev/problems/<code>`, documented at [`/problems/<code>`](/problems)) and
  the request's `request_id`.
* **Request ids**: send `X-Request-Id` (1-128 characters of `[A-Za-z0-9._:@/+=-]`) or get
  one made; it is echoed in the response header, every problem body and every log line.
* **Lists** are pages `{"data": [...], "next_cursor": ...}`: pass `next_cursor` back as
  `cursor`; `limit` is 1-500.
"""

# What a page on an allowed origin may send and read (bearer credentials, not cookies).
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-Id",
    "Last-Event-ID",
]
CORS_RESPONSE_HEADERS = ["X-Request-Id", "Retry-After", "Idempotent-Replayed", "Location"]

TAGS = [
    {"name": "accounts", "description": "Accounts, balances and history."},
    {"name": "entries", "description": "Entries, batches and holds (two-phase)."},
    {"name": "admin", "description": "API keys and user tokens (admin scope)."},
    {"name": "proofs", "description": "Anchors and Merkle proofs for auditors."},
    {"name": "operations", "description": "Health and readiness (public)."},
    {"name": "events", "description": "The change stream: journal events by seq, or as SSE."},
    {"name": "webhooks", "description": "Signed deliveries of the change stream."},
]


def create_app(context: ApiContext, lifecycle: Lifecycle | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if lifecycle is not None:
            lifecycle.start()
        try:
            yield
        finally:
            context.event_streams.close()  # open SSE streams end: clients resume elsewhere
            if lifecycle is not None:
                lifecycle.stop()

    app = LedgerApp(
        title="Azora Ledger",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served by api/routers/pages.py from local assets (no CDN)
        redoc_url=None,
    )
    app.mount(ASSETS_PATH, docs_assets(), name="docs-assets")
    app.state.api = context
    app.add_middleware(
        BodySizeLimit,
        max_bytes=context.config.max_body_bytes,
        streamed=((UPLOAD_PATH, context.config.upload_max_bytes + UPLOAD_OVERHEAD_BYTES),),
    )
    # The latency covers every answer, 413s included.
    app.state.latency = LatencyHistogram()
    app.add_middleware(RequestObserver, histogram=app.state.latency)
    # Added last, so outermost: even a 413 of BodySizeLimit carries the request id.
    app.add_middleware(RequestIdMiddleware, log_access=context.config.access_log)
    if context.config.cors_origins:  # outside the rest: a preflight needs no credentials
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(context.config.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=600,
        )
    install_problem_handlers(app)
    for router in ROUTERS:
        _document_path_ids(router)
        app.include_router(router)
    return app


def _document_path_ids(router: APIRouter) -> None:
    """A route with ids in its path answers 404 for an id outside its pattern, one that
    takes an Idempotency-Key 400 `missing-idempotency-key` without it: say so."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        if route.dependant.path_params:
            for status, spec in problems(404).items():
                route.responses.setdefault(status, spec)
        if _takes_idempotency_key(route):
            listed = codes_of(route.responses.get(400, {})) or ["bad-request"]
            wanted = [*listed, *(c for c in IDEMPOTENCY_CODES if c not in listed)]
            route.responses[400] = problems(codes=wanted)[400]


IDEMPOTENCY_CODES = ("missing-idempotency-key", "bad-request")


def _takes_idempotency_key(route: APIRoute) -> bool:
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call is idempotency_key:
            return True
        pending.extend(dependant.dependencies)
    return False
