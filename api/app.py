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

from api.context import ApiContext, Lifecycle
from api.errors import install_problem_handlers
from api.fastpath import LedgerApp
from api.limits import BodySizeLimit
from api.routers import ROUTERS
from api.routers.materials import UPLOAD_OVERHEAD_BYTES, UPLOAD_PATH
from api.schemas.common import problems

DESCRIPTION = """\
Azora Ledger: an append-only, double-entry ledger for USD and AZR reward tokens.

* **Auth**: `Authorization: Bearer <API key or user token>`. API keys carry scopes
  (`ledger:read`, `entries:write`, `admin`); a user token reaches only `user:{id}:...`
  accounts.
* **Amounts** are decimal strings in whole units (`"9.99"`), never JSON numbers.
* **Idempotency**: every value-moving POST carries an `Idempotency-Key` header (batch
  entries carry `idempotency_key` each). A retry gets the original answer.
* **Errors** are RFC 9457 `application/problem+json` with a stable `type`.
"""

TAGS = [
    {"name": "accounts", "description": "Accounts, balances and history."},
    {"name": "entries", "description": "Entries, batches and holds (two-phase)."},
    {"name": "admin", "description": "API keys and user tokens (admin scope)."},
    {"name": "proofs", "description": "Anchors and Merkle proofs for auditors."},
    {"name": "operations", "description": "Health and readiness (public)."},
]


def create_app(context: ApiContext, lifecycle: Lifecycle | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if lifecycle is not None:
            lifecycle.start()
        try:
            yield
        finally:
            if lifecycle is not None:
                lifecycle.stop()

    app = LedgerApp(
        title="Azora Ledger",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.api = context
    app.add_middleware(
        BodySizeLimit,
        max_bytes=context.config.max_body_bytes,
        streamed=((UPLOAD_PATH, context.config.upload_max_bytes + UPLOAD_OVERHEAD_BYTES),),
    )
    install_problem_handlers(app)
    for router in ROUTERS:
        _document_path_ids(router)
        app.include_router(router)
    return app


def _document_path_ids(router: APIRouter) -> None:
    """A route with ids in its path answers 404 for an id outside its pattern: say so."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.dependant.path_params:
            for status, spec in problems(404).items():
                route.responses.setdefault(status, spec)
