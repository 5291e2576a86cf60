"""Application factory: ``granian --interface asgi --factory api.app:create_app`` (what
``azora serve`` runs)."""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.config import ApiSettings
from api.deps import ApiContext
from api.errors import install_problem_handlers
from api.keystore import KeyStore
from api.limits import BodySizeLimit, RateLimiter
from api.routers import accounts, admin, entries, ops, proofs, rewards
from api.security import ephemeral_jwt_secret
from azora.settings import Settings
from ledger import Ledger
from ledger.proofs import Proofs
from ledger.store.engine import make_engine

log = logging.getLogger("azora.api")

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


def _jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    # Settings refuse production without it; in development, warn and make one up.
    log.warning(
        "AZORA_JWT_SECRET is unset: user tokens are signed with an ephemeral secret and "
        "stop working when this process restarts"
    )
    return ephemeral_jwt_secret()


def _bootstrap_admin_key(keys: KeyStore, settings: Settings) -> None:
    """With no AZORA_ADMIN_API_KEY and no key at all, make the first admin key, print it once."""
    if settings.admin_api_key:
        return
    try:
        plaintext = keys.bootstrap_admin()
    except SQLAlchemyError as error:
        log.error("cannot read API keys (run `azora db upgrade`): %s", error)
        return
    if plaintext is not None:
        banner = "=" * 72
        print(
            f"\n{banner}\nNo API key existed, so an admin key was created. It is shown ONCE:\n\n"
            f"    {plaintext}\n\nexport AZORA_KEY={plaintext}\n"
            f"Make more with `azora keys create --scopes ...`; revoke with `azora keys revoke ID`."
            f"\n{banner}\n",
            file=sys.stderr,
            flush=True,
        )


def _start_anchoring(
    engine: Engine, settings: Settings, stop: threading.Event
) -> threading.Thread | None:
    """The anchoring worker, beside the API on its own schedule (never inside a request).

    Every worker process runs one; the leader lock lets one anchor per round. It waits for
    the chain (and the token `azora serve` deployed) with bounded backoff.
    """
    if not settings.anchoring:
        return None

    def run() -> None:
        from azora.wiring import anchor_settings, chain_config
        from chain.anchoring import AnchorWorker
        from chain.runtime import open_token

        config = chain_config(settings)
        delay_s = 1.0
        while not stop.is_set():
            try:
                token = open_token(engine, config, deploy_if_missing=False)
                worker = AnchorWorker(engine, token, anchor_settings(settings))
            except Exception as error:
                log.warning("anchoring waits for the chain (retry in %.0fs): %s", delay_s, error)
                stop.wait(delay_s)
                delay_s = min(60.0, delay_s * 2)
                continue
            worker.run_forever(stop)

    thread = threading.Thread(target=run, name="azora-anchoring", daemon=True)
    thread.start()
    return thread


MAINTENANCE_INTERVAL_S = 5.0


def _start_maintenance(book: Ledger, stop: threading.Event) -> threading.Thread:
    """Beside the API: expire holds past their deadline, settle interrupted redemptions.

    Every worker process runs it; both jobs are idempotent (an expiry or a settlement is
    recorded once by the journal writer whoever asks first).
    """

    def run() -> None:
        from monetization.rewards import Rewards
        from monetization.rewards.fulfilment import chain_minter_from_settings

        rewards = Rewards(book, minter=chain_minter_from_settings)
        while not stop.wait(MAINTENANCE_INTERVAL_S):
            try:
                while book.expire_due_holds() > 0:
                    pass
                rewards.redemptions.settle()
            except Exception as error:  # keep the loop alive; the next round retries
                log.warning("maintenance round failed: %s", error)

    thread = threading.Thread(target=run, name="azora-maintenance", daemon=True)
    thread.start()
    return thread


def create_app(
    settings: Settings | None = None, *, api_settings: ApiSettings | None = None
) -> FastAPI:
    settings = settings or Settings()
    api_settings = api_settings or settings  # one settings object unless a test splits it
    engine = make_engine(settings.database_url)
    book = Ledger(engine)
    keys = KeyStore(engine, cache_ttl_s=api_settings.key_cache_ttl_s)
    context = ApiContext(
        ledger=book,
        keys=keys,
        limiter=RateLimiter(api_settings.rate_limit_per_s, api_settings.rate_limit_burst),
        jwt_secret=_jwt_secret(settings),
        admin_api_key=settings.admin_api_key,
        api_settings=api_settings,
    )

    stop_anchoring = threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _bootstrap_admin_key(keys, settings)
        # Everything allocated so far lives as long as the process: move it out of the
        # collector's reach, so a full collection pauses ~1 ms instead of ~100 ms (the p99).
        gc.collect()
        gc.freeze()
        anchoring = _start_anchoring(engine, settings, stop_anchoring)
        maintenance = _start_maintenance(book, stop_anchoring)
        yield
        stop_anchoring.set()
        maintenance.join(timeout=10)
        if anchoring is not None:
            anchoring.join(timeout=10)
        book.close()
        engine.dispose()

    app = FastAPI(
        title="Azora Ledger",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ledger = book
    app.state.api = context
    app.state.proofs = Proofs(engine, contract=settings.token_address)
    app.add_middleware(BodySizeLimit, max_bytes=api_settings.max_body_bytes)
    install_problem_handlers(app)
    for module in (ops, accounts, entries, admin, proofs, rewards):
        app.include_router(module.router)
    return app
