"""Dependencies shared by the routers, as ``Annotated`` aliases.

``CurrentPrincipal`` authenticates (401) and rate-limits (429) every protected route.
``Reader``/``Writer``/``Admin`` add the scope a route needs: a key without it gets 403;
a user token gets 404, as if the route did not exist for it (a user token reaches its own
accounts and ``/v1/users/{id}/...`` only).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.context import ApiContext
from api.errors import ApiProblem
from api.limits import retry_after_header
from api.security import (
    KEY_PREFIX,
    InvalidToken,
    Principal,
    PrincipalKind,
    Scope,
    secrets_match,
    split_api_key,
    verify_user_token,
)
from ledger import IDEMPOTENCY_KEY_RE, Ledger
from monetization.rewards import Rewards

ENV_ADMIN_KEY_ID = "env-admin"
_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`azora_<id>_<secret>`) or a user token (JWT).",
)


async def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


Context = Annotated[ApiContext, Depends(get_context)]


async def get_ledger(context: Context) -> Ledger:
    return context.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


async def get_rewards(context: Context) -> Rewards:
    return context.rewards


RewardsDep = Annotated[Rewards, Depends(get_rewards)]


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem("unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(context: ApiContext, presented: str) -> Principal:
    """The principal of bearer credentials ``presented``; :class:`ApiProblem` 401 if none."""
    admin_key = context.config.admin_api_key
    if admin_key and hmac.compare_digest(presented.encode(), admin_key.encode()):
        return Principal(PrincipalKind.KEY, ENV_ADMIN_KEY_ID, frozenset({Scope.ADMIN}))
    parts = split_api_key(presented)
    if parts is not None:
        key_id, secret = parts
        key = context.keys.cached(key_id) or await run_in_threadpool(context.keys.fetch, key_id)
        if key is None or not key.active or not secrets_match(secret, key.secret_hash):
            raise _unauthorized("the API key is unknown or revoked")
        return Principal(PrincipalKind.KEY, key.id, key.scopes)
    if presented.startswith(KEY_PREFIX) or presented.count(".") != 2:
        raise _unauthorized(
            "the bearer token is neither a well-formed API key (azora_<id>_<secret>) nor a "
            "user token: check that it was copied whole"
        )
    try:
        user_id = verify_user_token(presented, context.config.jwt_secret)
    except InvalidToken as error:
        raise _unauthorized(f"the user token is invalid: {error}") from None
    return Principal(PrincipalKind.USER, user_id)


async def get_principal(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("send Authorization: Bearer <API key or user token>")
    principal = await authenticate(context, credentials.credentials)
    refusal = await rate_limited(context, principal)
    if refusal is not None:
        raise refusal
    return principal


async def rate_limited(context: ApiContext, principal: Principal) -> ApiProblem | None:
    """Spend one of ``principal``'s rate tokens; the 429 problem when it has none left."""
    wait_s = await context.limiter.acquire(principal.name)
    if wait_s > 0:
        return ApiProblem(
            "rate-limited",
            f"{principal.name} is over its request rate; retry later",
            headers=retry_after_header(wait_s),
        )
    return None


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def _route_hidden() -> ApiProblem:
    return ApiProblem("not-found", "no such resource")


def require(scope: Scope, *, users: bool = False) -> Any:
    """A dependency: the caller holds ``scope`` (or, with ``users``, is a user token)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.is_user:
            if users:
                return principal
            raise _route_hidden()
        if not principal.has(scope):
            raise ApiProblem("forbidden", f"this needs the {scope.value!r} scope")
        return principal

    return Depends(check)


Reader = Annotated[Principal, require(Scope.LEDGER_READ, users=True)]
Writer = Annotated[Principal, require(Scope.ENTRIES_WRITE)]
Admin = Annotated[Principal, require(Scope.ADMIN)]
EventsReader = Annotated[Principal, require(Scope.EVENTS_READ)]


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


async def idempotency_key(
    key: Annotated[
        str,
        Header(
            alias=IDEMPOTENCY_KEY_HEADER,
            description="1-128 characters of `[A-Za-z0-9_.:-]`, unique per request and per "
            "credential; retries of one request reuse it. Without it the answer is 400 "
            "`missing-idempotency-key` (a refused request does not consume its key).",
            examples=["order-1042-payment"],
        ),
    ],
) -> str:
    # A missing header is 400 `missing-idempotency-key` too (api/errors.py maps it).
    if key == "":
        raise ApiProblem("missing-idempotency-key", "send an Idempotency-Key header")
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise ApiProblem(
            "bad-request", "the Idempotency-Key must be 1-128 characters of [A-Za-z0-9_.:-]"
        )
    return key


IdempotencyKey = Annotated[str, Depends(idempotency_key)]
