"""What the marketplace's routers share: the service, an optional caller, page cursors."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import Context, get_principal
from api.security import Principal
from monetization.marketplace import Marketplace

_optional_bearer = HTTPBearer(
    auto_error=False, description="Optional here: an owner sees their drafts."
)


async def get_marketplace(context: Context) -> Marketplace:
    return context.marketplace


MarketDep = Annotated[Marketplace, Depends(get_marketplace)]


async def optional_principal(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
) -> Principal | None:
    """The caller when credentials are sent (checked as anywhere: a bad one is 401)."""
    if credentials is None:
        return None
    return await get_principal(context, credentials)


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def next_cursor(ids: list[str], limit: int) -> str | None:
    """The id-cursor of a page fetched with ``limit + 1``: the last id shown when there is more."""
    return ids[limit - 1] if len(ids) > limit else None
