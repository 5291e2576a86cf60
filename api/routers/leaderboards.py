"""``/v1/leaderboards/{scope}``: global, class:{id}, friends:{user}; windows all/week/month."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import policy
from api.deps import Reader, RewardsDep
from api.ids import BoardScopePath, UserQuery
from api.schemas.common import PROTECTED, problems
from api.schemas.rewards import BoardPublic
from monetization.rewards import Window
from monetization.rewards.leaderboard import PAGE_MAX, Scope

router = APIRouter(prefix="/v1/leaderboards", tags=["leaderboards"], responses=PROTECTED)


@router.get("/{scope}", responses=problems(404))
def get_board(
    *,
    scope: BoardScopePath,
    rewards: RewardsDep,
    principal: Reader,
    window: Window = Window.ALL,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_MAX,
    user_id: Annotated[
        UserQuery,
        Query(description="API keys: whose place to show as `me` (a user token: always its own)."),
    ] = None,
) -> BoardPublic:
    """The top of a leaderboard, ranked by AZR earned in the current window (UTC: ISO week,
    calendar month, or all time), ties broken by user id; `me` is the caller's own rank and
    score even when off the page (null if the caller earned nothing there). A user token
    sees `global`, the classes it belongs to and its own `friends:{id}`."""
    parsed = Scope.parse(scope)
    me = user_id
    if principal.is_user:
        me = principal.id
    if not policy.can_read_board(principal, parsed.kind, parsed.id, rewards.social.classes_of):
        raise policy.hidden(f"leaderboard {scope!r}")
    return BoardPublic.build(rewards.leaderboards.board(scope, window, me=me, limit=limit))
