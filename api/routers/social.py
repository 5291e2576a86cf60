"""Classes and friendships: who the ``class:{id}`` and ``friends:{user}`` boards rank."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import policy
from api.deps import Reader, RewardsDep, Writer
from api.ids import USER_ID, SlugPath, UserPath
from api.schemas.common import PROTECTED, problems
from api.schemas.rewards import (
    FriendCreate,
    FriendList,
    FriendPublic,
    MemberCreate,
    MemberPage,
    MemberPublic,
)
from monetization.rewards.social import PAGE_MAX

router = APIRouter(prefix="/v1", tags=["social"], responses=PROTECTED)

ClassPath = SlugPath


@router.post(
    "/classes/{class_id}/members",
    status_code=status.HTTP_201_CREATED,
    responses=problems(403) | {200: {"model": MemberPublic, "description": "Already a member"}},
)
def add_member(
    class_id: ClassPath, body: MemberCreate, rewards: RewardsDep, _p: Writer, response: Response
) -> MemberPublic:
    """Add a user to a class (services). Adding a member again answers 200."""
    if not rewards.social.join_class(class_id, body.user_id):
        response.status_code = status.HTTP_200_OK
    return MemberPublic(class_id=class_id, user_id=body.user_id)


@router.delete(
    "/classes/{class_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403),
)
def remove_member(class_id: ClassPath, user_id: UserPath, rewards: RewardsDep, _p: Writer) -> None:
    rewards.social.leave_class(class_id, user_id)


@router.get("/classes/{class_id}/members", responses=problems(404))
def list_members(
    class_id: ClassPath,
    rewards: RewardsDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    cursor: Annotated[str | None, Query(pattern=USER_ID, max_length=64)] = None,
) -> MemberPage:
    if not policy.can_read_board(principal, "class", class_id, rewards.social.classes_of):
        raise policy.hidden(f"class {class_id!r}")
    members = rewards.social.members(class_id, after=cursor, limit=limit)
    return MemberPage(data=members, next_cursor=members[-1] if len(members) == limit else None)


@router.post("/users/{user_id}/friends", status_code=status.HTTP_201_CREATED)
def add_friend(
    user_id: UserPath, body: FriendCreate, rewards: RewardsDep, principal: Reader
) -> FriendPublic:
    """Ask for a friendship: it counts (`mutual`) once the other side asked too."""
    policy.require_user_act(principal, user_id)
    f = rewards.social.befriend(user_id, body.friend_id)
    return FriendPublic(user_id=f.user_id, friend_id=f.friend_id, mutual=f.mutual)


@router.get("/users/{user_id}/friends", responses=problems(404))
def list_friends(user_id: UserPath, rewards: RewardsDep, principal: Reader) -> FriendList:
    policy.require_user_read(principal, user_id)
    return FriendList(
        data=[
            FriendPublic(user_id=f.user_id, friend_id=f.friend_id, mutual=f.mutual)
            for f in rewards.social.friends(user_id)
        ]
    )


@router.delete(
    "/users/{user_id}/friends/{friend_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(404),
)
def remove_friend(
    user_id: UserPath,
    friend_id: UserPath,
    rewards: RewardsDep,
    principal: Reader,
) -> None:
    policy.require_user_act(principal, user_id)
    rewards.social.unfriend(user_id, friend_id)
