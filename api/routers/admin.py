"""``/v1/admin``: API keys and user tokens (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, Context
from api.errors import ApiProblem
from api.ids import ApiKeyIdPath
from api.schemas.admin import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyPublic,
    UserTokenCreate,
    UserTokenPublic,
)
from api.schemas.common import PROTECTED, problems
from api.security import issue_user_token

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=PROTECTED | problems(403, 404))


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyCreate, context: Context, _p: Admin) -> ApiKeyCreated:
    """Create a service API key. The response holds the secret key: it is shown only once."""
    key, plaintext = await run_in_threadpool(context.keys.create, frozenset(body.scopes), body.name)
    return ApiKeyCreated(**ApiKeyPublic.build(key).model_dump(), key=plaintext)


@router.get("/api-keys")
async def list_api_keys(context: Context, _p: Admin) -> ApiKeyList:
    """Every API key (never their secrets), oldest first."""
    keys = await run_in_threadpool(context.keys.list)
    return ApiKeyList(data=[ApiKeyPublic.build(k) for k in keys])


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(key_id: ApiKeyIdPath, context: Context, _p: Admin) -> ApiKeyPublic:
    """Revoke a key: it stops working at once here, within seconds in other processes."""
    key = await run_in_threadpool(context.keys.revoke, key_id)
    if key is None:
        raise ApiProblem("not-found", f"API key {key_id!r} does not exist")
    return ApiKeyPublic.build(key)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def issue_token(body: UserTokenCreate, context: Context, _p: Admin) -> UserTokenPublic:
    """Issue a user token (JWT) for the wallet UI: it reaches only that user's accounts."""
    ttl_s = body.ttl_s or context.config.user_token_ttl_s
    token, expires = issue_user_token(body.user_id, context.config.jwt_secret, ttl_s)
    return UserTokenPublic(token=token, user_id=body.user_id, expires_at=expires)
